/**
 * The sidecar dialect against byte vectors written out by hand from wire-formats.md §5: the
 * Rust engine's compact (array) encoding and the Go sidecar's map encoding.
 */
import { IpcError, type IpcMessage, type ResponsePayload, success } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { createSidecarDialect, decodeSidecar, encodeSidecar, sidecarDialect } from '../src/index.js';

/** Bytes from a hex string with spaces and `'text'` runs (a `'…'` run is its UTF-8 bytes). */
function bytes(spec: string): Buffer {
  const parts: Buffer[] = [];
  for (const token of spec.match(/'[^']*'|[0-9a-f]{2}/gi) ?? []) {
    parts.push(token.startsWith("'") ? Buffer.from(token.slice(1, -1)) : Buffer.from(token, 'hex'));
  }
  return Buffer.concat(parts);
}

// ["Ping", [1700000000123456789, nil]] as rmp-serde writes it.
const PING_ARRAY = bytes("92 a4 'Ping' 92 cf 17 97 9c fe 3d 85 cd 15 c0");
// {"type":"Ping","data":{"timestamp_ns":1700000000123456789,"client_id":"go"}} as the Go sidecar
// writes it (uint64 in its fixed 9-byte form).
const PING_MAP = bytes(
  "82 a4 'type' a4 'Ping' a4 'data' 82 ac 'timestamp_ns' cf 17 97 9c fe 3d 85 cd 15 a9 'client_id' a2 'go'",
);
// ["Pong", [1, 2, 1]]
const PONG_ARRAY = bytes("92 a4 'Pong' 93 01 02 01");
// The engine's UNSUPPORTED_MESSAGE error, compact.
const UNSUPPORTED_ARRAY = bytes(
  "92 a5 'Error' 94 b3 'UNSUPPORTED_MESSAGE' b8 'Unsupported message type' a7 'request' c3",
);
// The same error as a map.
const UNSUPPORTED_MAP = bytes(
  "82 a4 'type' a5 'Error' a4 'data' 84 a4 'code' b3 'UNSUPPORTED_MESSAGE' a7 'message' b8 'Unsupported message type' a8 'category' a7 'request' ab 'recoverable' c3",
);

// msgpackr caches a DataView on the buffers it reads: compare copies.
const server = () => sidecarDialect.forLink();

function decodeOne(dialect: ReturnType<typeof server>, frame: Uint8Array): IpcMessage {
  const m = dialect.decode(frame);
  if (Array.isArray(m)) throw new Error('batch');
  return m;
}

function decodeError(dialect: ReturnType<typeof server>, frame: Uint8Array): IpcError {
  try {
    dialect.decode(frame);
  } catch (err) {
    expect(err).toBeInstanceOf(IpcError);
    return err as IpcError;
  }
  throw new Error('decode did not fail');
}

describe('sidecar dialect: requests (server side)', () => {
  it('reads the compact array Ping, u64 timestamp exact as a BigInt', () => {
    const msg = decodeOne(server(), PING_ARRAY);
    expect(msg.payload).toEqual({
      type: 'request',
      method: 'Ping',
      params: { timestamp_ns: 1700000000123456789n },
    });
    expect(msg.id).toMatch(/^sidecar-\d+$/);
  });

  it('reads the Go map Ping', () => {
    const msg = decodeOne(server(), PING_MAP);
    expect(msg.payload).toEqual({
      type: 'request',
      method: 'Ping',
      params: { timestamp_ns: 1700000000123456789n, client_id: 'go' },
    });
  });

  it('makes up a fresh id per request', () => {
    const d = server();
    const a = decodeOne(d, PING_ARRAY);
    const b = decodeOne(d, PING_ARRAY);
    expect(a.id).not.toBe(b.id);
  });

  it('answers in the encoding the request came in', () => {
    const d = server();
    const fromRust = decodeOne(d, PING_ARRAY);
    const fromGo = decodeOne(d, PING_MAP);
    const pong = { client_timestamp_ns: 1, server_timestamp_ns: 2, server_rtt_ns: 1 };
    expect(Buffer.from(d.encode(success(fromRust.id, pong)) as Uint8Array)).toEqual(Buffer.from(PONG_ARRAY));
    expect(Buffer.from(d.encode(success(fromGo.id, pong)) as Uint8Array)).toEqual(
      bytes(
        "82 a4 'type' a4 'Pong' a4 'data' 83 b3 'client_timestamp_ns' 01 b3 'server_timestamp_ns' 02 ad 'server_rtt_ns' 01",
      ),
    );
  });

  it('writes u64 values over 2^53 as MessagePack uint64', () => {
    const d = server();
    const req = decodeOne(d, PING_ARRAY);
    const frame = d.encode(
      success(req.id, {
        client_timestamp_ns: 1700000000123456789n,
        server_timestamp_ns: 0xfffffffffffffff0n,
        server_rtt_ns: 2 ** 32,
      }),
    );
    expect(Buffer.from(frame as Uint8Array)).toEqual(
      bytes(
        "92 a4 'Pong' 93 cf 17 97 9c fe 3d 85 cd 15 cf ff ff ff ff ff ff ff f0 cf 00 00 00 01 00 00 00 00",
      ),
    );
  });

  it('answers an unknown variant with UNSUPPORTED_MESSAGE, in the request encoding', () => {
    const d = server();
    const arrayErr = decodeError(d, bytes("92 a5 'Bogus' 90"));
    expect(arrayErr.code).toBe('PROTOCOL');
    expect(Buffer.from(d.decodeErrorReply!(arrayErr, new Uint8Array()) as Uint8Array)).toEqual(
      UNSUPPORTED_ARRAY,
    );
    const mapErr = decodeError(d, bytes("82 a4 'type' a5 'Bogus' a4 'data' 80"));
    expect(Buffer.from(d.decodeErrorReply!(mapErr, new Uint8Array()) as Uint8Array)).toEqual(
      Buffer.from(UNSUPPORTED_MAP),
    );
  });

  it('answers a response variant sent as a request with UNSUPPORTED_MESSAGE', () => {
    const d = server();
    const err = decodeError(d, PONG_ARRAY);
    expect(Buffer.from(d.decodeErrorReply!(err, PONG_ARRAY) as Uint8Array)).toEqual(
      Buffer.from(UNSUPPORTED_ARRAY),
    );
  });

  it('answers a malformed struct of a known request with INVALID_REQUEST', () => {
    const d = server();
    // ["Ping", ["soon", nil]]: timestamp_ns is not an integer.
    const err = decodeError(d, bytes("92 a4 'Ping' 92 a4 'soon' c0"));
    expect(err.code).toBe('PROTOCOL');
    const reply = d.decodeErrorReply!(err, new Uint8Array()) as Uint8Array;
    const client = createSidecarDialect().forLink();
    client.encode({ id: 'r1', payload: { type: 'request', method: 'Ping', params: { timestamp_ns: 1 } } });
    const decoded = client.decode(reply) as IpcMessage<ResponsePayload>;
    expect(decoded.payload).toMatchObject({ success: false, code: 'INVALID_REQUEST' });
  });

  it('has no reply for bytes that are not an envelope (the link closes)', () => {
    const d = server();
    for (const frame of [bytes('c1'), bytes('93 01 02 03'), bytes('2a'), bytes("81 a4 'data' 90")]) {
      const err = decodeError(d, frame);
      expect(['SERIALIZATION', 'PROTOCOL']).toContain(err.code);
      expect(d.decodeErrorReply!(err, frame)).toBeUndefined();
    }
  });

  it('turns a handler error into an Error variant', () => {
    const d = server();
    const req = decodeOne(d, PING_MAP);
    const frame = d.encode({
      id: req.id,
      payload: {
        type: 'response',
        success: false,
        result: null,
        error: 'no session',
        code: 'SESSION_NOT_FOUND',
        details: { category: 'session', recoverable: true },
      },
    });
    expect(Buffer.from(frame as Uint8Array)).toEqual(
      bytes(
        "82 a4 'type' a5 'Error' a4 'data' 84 a4 'code' b1 'SESSION_NOT_FOUND' a7 'message' aa 'no session' a8 'category' a7 'session' ab 'recoverable' c3",
      ),
    );
  });

  it('answers a method without handler as UNSUPPORTED_MESSAGE', () => {
    const d = server();
    const req = decodeOne(d, PING_ARRAY);
    const frame = d.encode({
      id: req.id,
      payload: {
        type: 'response',
        success: false,
        result: null,
        error: 'Unknown method: Ping',
        code: 'METHOD_NOT_FOUND',
      },
    });
    expect(Buffer.from(frame as Uint8Array)).toEqual(Buffer.from(UNSUPPORTED_ARRAY));
  });

  it('refuses a result that does not fit the response struct', () => {
    const d = server();
    const req = decodeOne(d, PING_ARRAY);
    expect(() => d.encode(success(req.id, { client_timestamp_ns: -1 }))).toThrow(
      expect.objectContaining({ code: 'SERIALIZATION' }),
    );
  });

  it('has no events', () => {
    expect(() =>
      server().encode({ id: 'e', payload: { type: 'event', event_type: 'tick', data: {} } }),
    ).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
  });
});

describe('sidecar dialect: responses (client side)', () => {
  it('writes requests in the compact form by default and in maps on request', () => {
    const array = sidecarDialect.forLink();
    expect(
      Buffer.from(
        array.encode({
          id: 'a',
          payload: { type: 'request', method: 'Ping', params: { timestamp_ns: 1700000000123456789n } },
        }) as Uint8Array,
      ),
    ).toEqual(Buffer.from(PING_ARRAY));
    const map = createSidecarDialect({ encoding: 'map' }).forLink();
    expect(
      Buffer.from(
        map.encode({
          id: 'b',
          payload: {
            type: 'request',
            method: 'Ping',
            params: { timestamp_ns: 1700000000123456789n, client_id: 'go' },
          },
        }) as Uint8Array,
      ),
    ).toEqual(
      bytes(
        "82 a4 'type' a4 'Ping' a4 'data' 82 ac 'timestamp_ns' cf 17 97 9c fe 3d 85 cd 15 a9 'client_id' a2 'go'",
      ),
    );
  });

  it('writes GetCapabilities with an absent client_id as nil (array) or nothing (map)', () => {
    const msg: IpcMessage = { id: 'c', payload: { type: 'request', method: 'GetCapabilities', params: {} } };
    expect(Buffer.from(sidecarDialect.forLink().encode(msg) as Uint8Array)).toEqual(
      bytes("92 af 'GetCapabilities' 91 c0"),
    );
    expect(
      Buffer.from(createSidecarDialect({ encoding: 'map' }).forLink().encode(msg) as Uint8Array),
    ).toEqual(bytes("82 a4 'type' af 'GetCapabilities' a4 'data' 80"));
  });

  it('refuses a method that is not a sidecar request', () => {
    expect(() =>
      sidecarDialect.forLink().encode({ id: 'x', payload: { type: 'request', method: 'Pong', params: {} } }),
    ).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
  });

  it('reads ["Pong",[1,2,1]] as the response to the oldest request', () => {
    const d = sidecarDialect.forLink();
    d.encode({ id: 'first', payload: { type: 'request', method: 'Ping', params: { timestamp_ns: 1 } } });
    d.encode({ id: 'second', payload: { type: 'request', method: 'Ping', params: { timestamp_ns: 1 } } });
    expect(d.decode(PONG_ARRAY)).toEqual(
      success('first', { client_timestamp_ns: 1, server_timestamp_ns: 2, server_rtt_ns: 1 }),
    );
    expect((d.decode(PONG_ARRAY) as IpcMessage).id).toBe('second');
  });

  it("reads the engine's four-field Error and the Go sidecar's three-field one", () => {
    const d = sidecarDialect.forLink();
    d.encode({ id: 'r', payload: { type: 'request', method: 'StartRead', params: startRead } });
    d.encode({ id: 'g', payload: { type: 'request', method: 'StartRead', params: startRead } });
    expect((d.decode(UNSUPPORTED_ARRAY) as IpcMessage).payload).toMatchObject({
      success: false,
      error: 'Unsupported message type',
      code: 'UNSUPPORTED_MESSAGE',
      retryable: true,
      details: { category: 'request', recoverable: true },
    });
    const goError = bytes(
      "82 a4 'type' a5 'Error' a4 'data' 83 a4 'code' a4 'BUSY' a7 'message' a4 'busy' a7 'details' a3 'try'",
    );
    expect((d.decode(goError) as IpcMessage).payload).toMatchObject({
      success: false,
      error: 'busy',
      code: 'BUSY',
      details: { details: 'try' },
    });
  });

  it('reads a GetCapabilitiesResponse in both encodings', () => {
    const caps = {
      device_name: 'mlx5_0',
      vendor_id: 0x02c9,
      max_transfer_size: 2 ** 40,
      max_sessions: 1000,
      active_sessions: 0,
      port_gid: 'fe80::1',
      port_lid: 7,
      supported_auth: ['none'],
      version: '0.1.0',
      real_rdma: false,
    };
    for (const encoding of ['array', 'map'] as const) {
      const srv = createSidecarDialect({ encoding }).forLink();
      const cli = sidecarDialect.forLink();
      const req = srv.decode(
        cli.encode({ id: 'q', payload: { type: 'request', method: 'GetCapabilities', params: {} } }),
      ) as IpcMessage;
      const reply = srv.encode(success(req.id, caps));
      expect(cli.decode(reply)).toEqual(success('q', caps));
    }
  });
});

const startRead = {
  volume_id: 3,
  needle_id: 0xffffffffffffffffn,
  cookie: 0xffffffff,
  offset: 2 ** 53 + 2,
  size: 0,
  remote_addr: 0xfffffffffffffff0n,
  remote_key: 42,
  timeout_secs: 30,
};

describe('sidecar encoder: integer fields', () => {
  it('takes numbers, BigInts and decimal strings (from JSON) and writes the smallest uint', () => {
    const ping = (timestamp_ns: unknown) =>
      Buffer.from(encodeSidecar('Ping', { timestamp_ns }, 'array')).toString('hex');
    const expected = Buffer.from(PING_ARRAY).toString('hex');
    expect(ping(1700000000123456789n)).toBe(expected);
    expect(ping('1700000000123456789')).toBe(expected);
    expect(ping(5)).toBe(ping(5n));
    expect(ping('18446744073709551615')).toBe(
      bytes("92 a4 'Ping' 92 cf ff ff ff ff ff ff ff ff c0").toString('hex'),
    );
  });

  it('refuses values outside the field width, negative, fractional or not integers', () => {
    const bad: Array<[string, unknown]> = [
      ['timestamp_ns', -1],
      ['timestamp_ns', -1n],
      ['timestamp_ns', 1.5],
      ['timestamp_ns', 1n << 64n],
      ['timestamp_ns', '18446744073709551616'],
      ['timestamp_ns', '-3'],
      ['timestamp_ns', '1e3'],
      ['timestamp_ns', null],
      ['timestamp_ns', {}],
    ];
    for (const [field, value] of bad) {
      expect(() => encodeSidecar('Ping', { [field]: value }, 'map')).toThrow(
        expect.objectContaining({ code: 'SERIALIZATION' }),
      );
    }
    const read = (fields: Record<string, unknown>) =>
      encodeSidecar('CompleteReadResponse', { success: true, ...fields }, 'array');
    expect(() => read({ server_crc: 2 ** 32 })).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    expect(() => read({ server_crc: -1n })).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    expect(decodeSidecar(read({ server_crc: 0xffffffffn })).data).toEqual({
      success: true,
      server_crc: 0xffffffff,
    });
  });
});
