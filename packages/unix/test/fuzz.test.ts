/**
 * Fuzzing (fast-check) of every decoder the unix transport runs: the frame decoder, the
 * msgpack and openclaw-ipc JSON dialects, the sidecar dialect. Random and mutated input never
 * crashes or hangs, always fails as an IpcError, and the server keeps serving the next client.
 */
import { connect } from 'node:net';
import {
  type Dialect,
  IpcError,
  type IpcMessage,
  msgpackDialect,
  openclawJson,
  RpcClient,
  RpcServer,
} from '@openclaw-ipc/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectUnix,
  decodeSidecar,
  encodeFrame,
  encodeSidecar,
  HEADER_SIZE,
  LengthPrefixedDecoder,
  SIDECAR_FIELDS,
  type SidecarVariant,
  sidecarDemoHandlers,
  sidecarDialect,
  UnixListener,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-unix-fuzz-');
afterAll(() => dir.remove());

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** Flips, inserts or deletes bytes of `bytes`. */
const mutated = (bytes: Uint8Array) =>
  fc
    .array(
      fc.record({
        at: fc.nat(),
        op: fc.constantFrom('flip', 'insert', 'delete', 'set'),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((edits) => {
      const out = [...bytes];
      for (const e of edits) {
        const i = out.length === 0 ? 0 : e.at % out.length;
        if (e.op === 'flip') out[i] = (out[i] ?? 0) ^ (1 << (e.value % 8));
        else if (e.op === 'insert') out.splice(i, 0, e.value);
        else if (e.op === 'delete') out.splice(i, 1);
        else out[i] = e.value;
      }
      return Uint8Array.from(out);
    });

const expectIpcError = (fn: () => unknown, codes: string[]) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IpcError);
    expect(codes).toContain((err as IpcError).code);
    return;
  }
};

describe('fuzz: frame decoder', () => {
  it('yields the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => encodeFrame(f)));
          const got: Buffer[] = [];
          const decoder = new LengthPrefixedDecoder(300, (f) => got.push(Buffer.from(f)));
          for (const chunk of chunked(stream, cuts)) decoder.push(chunk);
          expect(got).toEqual(frames.map((f) => Buffer.from(f)));
          expect(decoder.pending).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws anything but MESSAGE_TOO_LARGE and never holds more than one frame', () => {
    const limit = 256;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (bytes, cuts) => {
          const decoder = new LengthPrefixedDecoder(limit, (f) =>
            expect(f.length).toBeLessThanOrEqual(limit),
          );
          for (const chunk of chunked(Buffer.from(bytes), cuts)) {
            try {
              decoder.push(chunk);
            } catch (err) {
              expect(err).toBeInstanceOf(IpcError);
              expect((err as IpcError).code).toBe('MESSAGE_TOO_LARGE');
              return;
            }
            expect(decoder.pending).toBeLessThan(limit + HEADER_SIZE);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a huge declared length at its header, before any body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1025, max: 0xffffffff }), fc.nat({ max: 3 }), (size, split) => {
        const header = Buffer.alloc(4);
        header.writeUInt32LE(size);
        const decoder = new LengthPrefixedDecoder(1024, () => {
          throw new Error('no frame expected');
        });
        decoder.push(header.subarray(0, split));
        expect(() => decoder.push(header.subarray(split))).toThrow(
          expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }),
        );
      }),
    );
  });

  it('delivers nothing from a truncated frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), fc.nat(), (body, cut) => {
        const frame = encodeFrame(body);
        const got: Uint8Array[] = [];
        const decoder = new LengthPrefixedDecoder(1024, (f) => got.push(f));
        decoder.push(frame.subarray(0, cut % frame.length));
        expect(got).toEqual([]);
      }),
    );
  });
});

const sampleMessages: IpcMessage[] = [
  { id: 'a', payload: { type: 'request', method: 'echo', params: { x: [1, 'two', null] } } },
  { id: 'b', payload: { type: 'response', success: true, result: { ok: 1 }, error: null } },
  { id: 'c', payload: { type: 'response', success: false, result: null, error: 'no', code: 'AUTH' } },
  { id: 'd', payload: { type: 'event', event_type: 'tick', data: { n: 3 } } },
];
const message = fc.constantFrom(...sampleMessages);

function dialectProperty(dialect: Dialect, valid: fc.Arbitrary<Uint8Array>) {
  const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), valid, valid.chain(mutated));
  fc.assert(
    fc.property(input, (bytes) => {
      expectIpcError(() => dialect.decode(bytes), ['SERIALIZATION', 'PROTOCOL']);
    }),
    { numRuns: 1000 },
  );
}

describe('fuzz: dialect decoders', () => {
  it('msgpack dialect', () => {
    dialectProperty(
      msgpackDialect,
      message.map((m) => msgpackDialect.encode(m) as Uint8Array),
    );
  });

  it('openclaw-ipc JSON dialect, bytes and wrong types', () => {
    dialectProperty(
      openclawJson,
      message.map((m) => Buffer.from(openclawJson.encode(m) as string)),
    );
    // Well-formed JSON of the wrong shape or wrong types.
    const wrongTypes = fc.record({
      id: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean()),
      payload: fc.oneof(
        fc.anything(),
        fc.record({
          type: fc.constantFrom('request', 'response', 'event', 'other', 3),
          method: fc.anything(),
          params: fc.anything(),
          success: fc.anything(),
          error: fc.anything(),
          event_type: fc.anything(),
          data: fc.anything(),
        }),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(wrongTypes, fc.jsonValue()), (value) => {
        let text: string;
        try {
          text = JSON.stringify(value) ?? 'null';
        } catch {
          return;
        }
        expectIpcError(() => openclawJson.decode(text), ['SERIALIZATION', 'PROTOCOL']);
      }),
      { numRuns: 1000 },
    );
  });

  it('sidecar dialect (server and client side); every reply it offers is a valid frame', () => {
    const requests = fc.oneof(
      fc
        .record({ timestamp_ns: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) })
        .map((d) => encodeSidecar('Ping', d, 'array')),
      fc.record({ client_id: fc.string() }).map((d) => encodeSidecar('GetCapabilities', d, 'map')),
      fc.constant(
        encodeSidecar('Pong', { client_timestamp_ns: 1, server_timestamp_ns: 2, server_rtt_ns: 1 }, 'array'),
      ),
    );
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), requests, requests.chain(mutated));
    fc.assert(
      fc.property(input, (bytes) => {
        const server = sidecarDialect.forLink();
        try {
          server.decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(IpcError);
          expect(['SERIALIZATION', 'PROTOCOL']).toContain((err as IpcError).code);
          const reply = server.decodeErrorReply!(err as IpcError, bytes);
          if (reply !== undefined) {
            const client = sidecarDialect.forLink();
            client.encode({
              id: 'x',
              payload: { type: 'request', method: 'Ping', params: { timestamp_ns: 0 } },
            });
            expect((client.decode(reply) as IpcMessage).payload).toMatchObject({ success: false });
          }
        }
        const client = sidecarDialect.forLink();
        client.encode({ id: 'y', payload: { type: 'request', method: 'Ping', params: { timestamp_ns: 0 } } });
        expectIpcError(() => client.decode(bytes), ['SERIALIZATION', 'PROTOCOL']);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz: sidecar encoder', () => {
  it('either writes a frame its decoder reads back, or refuses with SERIALIZATION', () => {
    const variants = Object.keys(SIDECAR_FIELDS) as SidecarVariant[];
    const value = fc.oneof(
      fc.anything(),
      fc.bigInt({ min: -2n, max: (1n << 64n) + 2n }),
      fc.nat(),
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...variants),
        fc.dictionary(
          fc.constantFrom(...variants.flatMap((v) => SIDECAR_FIELDS[v].map((f) => f.name))),
          value,
        ),
        fc.constantFrom('array', 'map' as const),
        (variant, data, encoding) => {
          let frame: Uint8Array;
          try {
            frame = encodeSidecar(variant, data, encoding);
          } catch (err) {
            expect(err).toBeInstanceOf(IpcError);
            expect((err as IpcError).code).toBe('SERIALIZATION');
            return;
          }
          expect(decodeSidecar(frame)).toMatchObject({ type: variant, encoding });
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('fuzz: the server keeps serving', () => {
  for (const [name, dialect] of [
    ['msgpack', msgpackDialect],
    ['openclaw-ipc', openclawJson],
    ['sidecar', sidecarDialect],
  ] as const) {
    it(`${name}: random frames from one client never stop the next`, async () => {
      const path = dir.path(`${name}.sock`);
      const errors: unknown[] = [];
      const server = new RpcServer({ dialect, onError: (e) => errors.push(e) });
      const handlers = name === 'sidecar' ? sidecarDemoHandlers() : { echo: (p: unknown) => p };
      for (const [m, h] of Object.entries(handlers)) server.handle(m, h);
      server.serve(await UnixListener.listen(path, { maxMessageSize: 4096, sequential: name === 'sidecar' }));
      const probe = () =>
        name === 'sidecar'
          ? { method: 'Ping', params: { timestamp_ns: 1 }, expected: { client_timestamp_ns: 1 } }
          : { method: 'echo', params: { k: 1 }, expected: { k: 1 } };
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 4 }),
            fc.boolean(),
            async (bodies, framed) => {
              const raw = connect(path);
              const closed = new Promise((r) => raw.once('close', r));
              raw.on('error', () => {});
              raw.resume();
              const bytes = framed ? Buffer.concat(bodies.map((b) => encodeFrame(b))) : Buffer.concat(bodies);
              raw.end(bytes);
              await closed;
              const client = await RpcClient.connect({
                dialect,
                link: (s) => connectUnix(path, {}, s),
                reconnect: false,
              });
              try {
                const { method, params, expected } = probe();
                expect(await client.request(method, params)).toMatchObject(expected);
              } finally {
                client.close();
              }
            },
          ),
          { numRuns: 40 },
        );
        for (const e of errors) expect(e).toBeInstanceOf(IpcError);
      } finally {
        await server.close();
      }
    });
  }
});
