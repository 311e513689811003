// openclawJson writes requests and responses around the JSON of their value, without the wire
// object (dialects/openclaw-json.ts, encodeDirect): its text must be the general path's, byte
// for byte, whatever the ids, methods, values and errors.
import { type IpcMessage, openclawJson, toOpenclawWire } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const general = (m: IpcMessage) => JSON.stringify(toOpenclawWire(m));
const value = fc.oneof(
  fc.jsonValue(),
  fc.constant(undefined),
  fc.constant(new Date(0)),
  fc.constant(() => 1),
  fc.constant({ toJSON: () => 'custom' }),
  fc.constant({ nested: undefined, fn: () => 1 }),
);

describe('openclawJson direct encode', () => {
  it('writes the same text as the wire object for random requests', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), value, (id, method, params) => {
        const m = { id, payload: { type: 'request', method, params } } as IpcMessage;
        expect(openclawJson.encode(m)).toBe(general(m));
      }),
      { numRuns: 500 },
    );
  });

  it('writes the same text as the wire object for random responses', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.boolean(),
        value,
        fc.option(fc.string(), { nil: undefined }),
        (id, success, result, error) => {
          const m = { id, payload: { type: 'response', success, result, error } } as IpcMessage;
          expect(openclawJson.encode(m)).toBe(general(m));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('falls back to the general path for lone surrogates, events and malformed messages', () => {
    const cases = [
      { id: '\ud800', payload: { type: 'request', method: 'm\udfff', params: '\ud834' } },
      { id: 'e', payload: { type: 'event', event_type: 'tick', data: { n: 1 } } },
      { id: 7, payload: { type: 'request', method: 'm', params: {} } },
      { id: 'x', payload: { type: 'response', success: true, result: 1, error: 5 } },
    ] as unknown as IpcMessage[];
    for (const m of cases) expect(openclawJson.encode(m)).toBe(general(m));
  });

  it('reports a value that cannot be written as SERIALIZATION, as before', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const m = { id: '1', payload: { type: 'request', method: 'm', params: cyclic } } as IpcMessage;
    expect(() => openclawJson.encode(m)).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
  });
});
