import { IpcError } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectWsClient, createWsServer, forgeDialect, jsonRpcDialect } from '../src/index.js';
import { onCleanup, rawClient } from './util/raw.js';

const validFrames = [
  '{"jsonrpc":"2.0","method":"echo","params":{"a":[1,2]},"id":1}',
  '[{"jsonrpc":"2.0","method":"echo","params":[1],"id":"x"},{"jsonrpc":"2.0","method":"n"}]',
  '{"jsonrpc":"2.0","result":{"ok":true},"id":"r"}',
  '{"jsonrpc":"2.0","error":{"code":-32601,"message":"m","data":{"code":"X"}},"id":2}',
  '{"id":"f","method":"echo","params":{}}',
  '{"id":"f","success":false,"error":"e"}',
  '{"event_type":"e","data":{"x":1}}',
];

/** Strings and bytes a hostile or broken peer might send. */
const frameArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json(),
  fc.constantFrom(...validFrames),
  fc
    .tuple(fc.constantFrom(...validFrames), fc.nat(), fc.string({ maxLength: 8 }))
    .map(([f, at, ins]) => f.slice(0, at % f.length) + ins + f.slice((at % f.length) + 1)),
  fc
    .record({
      jsonrpc: fc.oneof(fc.constant('2.0'), fc.anything()),
      method: fc.oneof(fc.string(), fc.anything()),
      params: fc.anything(),
      id: fc.oneof(fc.constant('HUGE_ID'), fc.string({ minLength: 1000, maxLength: 5000 }), fc.anything()),
    })
    .map((o) => JSON.stringify(o).replace('"HUGE_ID"', '1e400')),
  // Our extensions: the request members and the notifications that name a request.
  fc
    .record(
      {
        jsonrpc: fc.constant('2.0'),
        method: fc.oneof(
          fc.string(),
          fc.constantFrom('$/progress', '$/stream/item', '$/stream/credit', '$/cancelRequest'),
        ),
        params: fc.oneof(
          fc.anything(),
          fc.record({ id: fc.oneof(fc.string(), fc.integer(), fc.anything()), value: fc.anything() }),
        ),
        id: fc.oneof(fc.string(), fc.integer()),
        timeoutMs: fc.oneof(fc.nat(), fc.anything()),
        progress: fc.oneof(fc.constant(true), fc.anything()),
        stream: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.anything()),
      },
      { requiredKeys: ['jsonrpc', 'method'] },
    )
    .map((o) => JSON.stringify(o)),
  fc.constantFrom(
    '{"jsonrpc":"2.0","method":"echo","id":1e400}',
    '{"id":99999999999999999999999,"method":"echo","params":{}}',
  ),
);
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom(
    Uint8Array.of(0xc3, 0x28),
    Uint8Array.of(0xed, 0xa0, 0x80),
    Uint8Array.of(0xff, 0xfe, 0x7b),
  ),
);

describe('fuzzed decoders', () => {
  for (const dialect of [jsonRpcDialect, forgeDialect]) {
    it(`${dialect.name}: random and mutated input decodes or fails with a typed IpcError`, () => {
      fc.assert(
        fc.property(fc.oneof(frameArb, bytesArb), (frame) => {
          try {
            const out = dialect.decode(frame);
            for (const m of Array.isArray(out) ? out : [out]) {
              expect(typeof m.id).toBe('string');
              dialect.encode(m); // whatever decodes can be written back
            }
          } catch (err) {
            expect(err).toBeInstanceOf(IpcError);
            expect(['SERIALIZATION', 'PROTOCOL']).toContain((err as IpcError).code);
            const reply = dialect.decodeErrorReply?.(err as IpcError, frame);
            if (reply !== undefined) expect(() => JSON.parse(String(reply))).not.toThrow();
          }
        }),
        { numRuns: 3000 },
      );
    });
  }
});

describe('fuzzed frames against a live server', () => {
  for (const dialect of ['jsonrpc', 'forge'] as const) {
    it(`${dialect}: never crashes it, and other clients keep being served`, async () => {
      const errors: IpcError[] = [];
      const { server, address } = await createWsServer({
        dialect: dialect === 'forge' ? forgeDialect : jsonRpcDialect,
        heartbeatInterval: 0,
        onError: (e) => errors.push(e),
      });
      onCleanup(() => server.close());
      server.handle('echo', (p) => p);
      const healthy = await connectWsClient(address, { dialect, heartbeatInterval: 0 });
      onCleanup(() => healthy.close());
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(frameArb, fc.tuple(bytesArb, fc.boolean())), { minLength: 1, maxLength: 20 }),
          async (frames) => {
            const c = await rawClient(address);
            for (const f of frames) {
              if (typeof f === 'string') c.send(f);
              else c.send(Buffer.from(f[0]), f[1]); // bytes as a binary or as an (invalid) text frame
            }
            c.close();
            expect(await healthy.request('echo', { ok: frames.length })).toEqual({ ok: frames.length });
          },
        ),
        { numRuns: 60 },
      );
      for (const e of errors) expect(e).toBeInstanceOf(IpcError);
    });
  }
});
