/**
 * Fuzzing the decoders with fast-check: random and mutated input always ends in an IpcError
 * (SERIALIZATION or PROTOCOL) or a well-formed message; never another exception, never a hang.
 */
import {
  event,
  failure,
  IpcError,
  type IpcMessage,
  msgpackDialect,
  openclawJson,
  parseMessage,
  RpcClient,
  RpcServer,
  request,
  success,
  toOpenclawWire,
} from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { onCleanup, until } from './util/harness.js';
import { MemoryNetwork } from './util/memory-link.js';

function isWellFormed(m: IpcMessage): boolean {
  if (typeof m !== 'object' || m === null || typeof m.id !== 'string') return false;
  const p = m.payload;
  switch (p?.type) {
    case 'request':
      return typeof p.method === 'string' && 'params' in p;
    case 'response':
      return typeof p.success === 'boolean' && (p.error === null || typeof p.error === 'string');
    case 'event':
      return typeof p.event_type === 'string' && 'data' in p;
    default:
      return false;
  }
}

/** The outcome of one decode: 'ok', or the IpcError code. Anything else fails the property. */
function outcome(decode: () => IpcMessage | IpcMessage[]): string {
  let out: IpcMessage | IpcMessage[];
  try {
    out = decode();
  } catch (err) {
    if (!(err instanceof IpcError)) throw new Error(`not an IpcError: ${String(err)}`);
    if (err.code !== 'SERIALIZATION' && err.code !== 'PROTOCOL')
      throw new Error(`unexpected code ${err.code}`);
    return err.code;
  }
  for (const m of Array.isArray(out) ? out : [out]) {
    if (!isWellFormed(m)) throw new Error(`decoded a malformed message: ${JSON.stringify(m)}`);
  }
  return 'ok';
}

const json = fc.jsonValue({ maxDepth: 3 });
const message = fc.oneof(
  fc.tuple(fc.string(), json, fc.uuid()).map(([m, p, id]) => request(m, p, id)),
  fc.tuple(fc.uuid(), json).map(([id, r]) => success(id, r)),
  fc.tuple(fc.uuid(), fc.string()).map(([id, e]) => failure(id, e, { code: 'X' })),
  fc.tuple(fc.string(), json, fc.uuid()).map(([t, d, id]) => event(t, d, id)),
);

/** Byte-level mutations of a valid frame: flip, insert, delete, truncate, splice random bytes. */
const mutated = (frames: fc.Arbitrary<Uint8Array>) =>
  fc
    .tuple(
      frames,
      fc.array(
        fc.tuple(
          fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'set'),
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
        ),
        { minLength: 1, maxLength: 6 },
      ),
    )
    .map(([frame, ops]) => {
      let b = Array.from(frame);
      for (const [op, at, v] of ops) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (op === 'flip') b[i] = (b[i] ?? 0) ^ (1 << (v % 8));
        else if (op === 'insert') b.splice(i, 0, v);
        else if (op === 'delete') b.splice(i, 1);
        else if (op === 'truncate') b = b.slice(0, i);
        else b[i] = v;
      }
      return new Uint8Array(b);
    });

const msgpackFrames = message.map((m) => msgpackDialect.encode(m) as Uint8Array);
const jsonFrames = message.map((m) => Buffer.from(openclawJson.encode(m) as string));

const NUM_RUNS = 2000;

describe('fuzz: openclawJson.decode', () => {
  it('random strings and bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => outcome(() => openclawJson.decode(s)) !== ''),
      {
        numRuns: NUM_RUNS,
      },
    );
    fc.assert(
      fc.property(fc.uint8Array(), (b) => outcome(() => openclawJson.decode(b)) !== ''),
      {
        numRuns: NUM_RUNS,
      },
    );
  });

  it('valid frames mutated byte by byte', () => {
    fc.assert(
      fc.property(mutated(jsonFrames), (b) => outcome(() => openclawJson.decode(b)) !== ''),
      {
        numRuns: NUM_RUNS,
      },
    );
  });

  it('JSON documents of every shape, and messages with fields replaced by random values', () => {
    fc.assert(
      fc.property(fc.json(), (text) => outcome(() => openclawJson.decode(text)) !== ''),
      { numRuns: NUM_RUNS },
    );
    const keys = [
      'id',
      'payload',
      'type',
      'method',
      'params',
      'success',
      'result',
      'error',
      'event_type',
      'data',
    ];
    fc.assert(
      fc.property(
        message,
        fc.constantFrom(...keys),
        fc.jsonValue({ maxDepth: 2 }),
        fc.boolean(),
        (m, key, v, del) => {
          const wire = JSON.parse(openclawJson.encode(m) as string);
          const target = key === 'id' || key === 'payload' ? wire : wire.payload;
          if (del) delete target[key];
          else target[key] = v;
          return outcome(() => openclawJson.decode(JSON.stringify(wire))) !== '';
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('round-trips every valid message', () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = openclawJson.decode(openclawJson.encode(m)) as IpcMessage;
        // the crate's JSON has no error codes: exactly what toOpenclawWire keeps comes back
        expect(back).toEqual(JSON.parse(JSON.stringify(toOpenclawWire(m))));
      }),
      { numRuns: 500 },
    );
  });
});

describe('fuzz: msgpackDialect.decode', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => outcome(() => msgpackDialect.decode(b)) !== ''),
      {
        numRuns: NUM_RUNS * 2,
      },
    );
  });

  it('valid frames mutated byte by byte', () => {
    fc.assert(
      fc.property(mutated(msgpackFrames), (b) => outcome(() => msgpackDialect.decode(b)) !== ''),
      {
        numRuns: NUM_RUNS * 2,
      },
    );
  });

  it('hostile shapes: huge declared lengths, deep nesting, reserved byte, extensions', () => {
    const cases = [
      'dd ffffffff', // array 32 of 4G elements, none present
      'df ffffffff', // map 32 of 4G entries
      'db ffffffff 61', // str 32 of 4G bytes
      'c6 ffffffff 00', // bin 32 of 4G bytes
      'c1', // never used
      '82 a2 6964 a1 61 a7 7061796c6f6164 c1', // reserved byte as payload
      'c7 05 01 0102030405', // unknown extension
      'd6 ff 00000001', // timestamp extension where a message should be
    ];
    for (const h of cases) {
      const code = outcome(() =>
        msgpackDialect.decode(new Uint8Array(Buffer.from(h.replace(/ /g, ''), 'hex'))),
      );
      expect(code, h).not.toBe('ok');
    }
    expect(outcome(() => msgpackDialect.decode(new Uint8Array(100_000).fill(0x91)))).toBe('SERIALIZATION');
    expect(outcome(() => openclawJson.decode('['.repeat(100_000)))).toBe('SERIALIZATION');
  });

  it('round-trips every valid message', () => {
    fc.assert(
      // msgpackr renames a map key "__proto__" to "__proto_" when decoding (its guard against
      // prototype pollution): a known limitation, documented in docs/core.md.
      fc.property(
        message.filter((m) => !JSON.stringify(m).includes('"__proto__"')),
        (m) => {
          // -0 comes back as 0 (msgpackr writes it as an integer, as JSON does)
          expect(msgpackDialect.decode(msgpackDialect.encode(m))).toEqual(JSON.parse(JSON.stringify(m)));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('fuzz: parseMessage', () => {
  it('any value: a PROTOCOL error or a well-formed message', () => {
    fc.assert(
      fc.property(
        fc.anything({ maxDepth: 3, withNullPrototype: true, withMap: true, withSet: true }),
        (v) => {
          return outcome(() => parseMessage(v)) !== 'SERIALIZATION';
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('message-like objects with wrong field types', () => {
    const field = fc.oneof(fc.anything({ maxDepth: 1 }), fc.constant(undefined));
    const payload = fc.record(
      {
        type: fc.oneof(fc.constantFrom('request', 'response', 'event'), field),
        method: field,
        params: field,
        success: field,
        result: field,
        error: field,
        event_type: field,
        data: field,
        code: field,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.record(
          { id: fc.oneof(fc.string(), field), payload: fc.oneof(payload, field) },
          { requiredKeys: [] },
        ),
        (v) => {
          return outcome(() => parseMessage(v)) !== 'SERIALIZATION';
        },
      ),
      { numRuns: NUM_RUNS * 2 },
    );
  });
});

describe('fuzz: the server under hostile frames', () => {
  it('keeps serving a well-behaved client while others send garbage', async () => {
    const network = new MemoryNetwork();
    const errors: IpcError[] = [];
    const server = new RpcServer({ dialect: msgpackDialect, onError: (e) => errors.push(e) });
    server.serve(network.listen('fuzz'));
    server.handle('echo', (p) => p);
    onCleanup(() => server.close());
    const good = await RpcClient.connect({ dialect: msgpackDialect, link: network.connector('fuzz') });
    onCleanup(() => good.close());
    const connect = network.connector('fuzz');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated(msgpackFrames)), async (frame) => {
        const raw = await connect();
        let closed = false;
        raw.attach({ onFrame: () => {}, onClose: () => (closed = true) });
        raw.send(frame);
        raw.send(frame);
        // the well-behaved client is answered whatever the other link did
        expect(await good.request('echo', frame.length)).toBe(frame.length);
        raw.close();
        await until(() => closed);
      }),
      { numRuns: 300 },
    );
    for (const e of errors) expect(['SERIALIZATION', 'PROTOCOL', 'CLOSED']).toContain(e.code);
    expect(good.state).toBe('open');
  });
});
