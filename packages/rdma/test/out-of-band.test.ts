/**
 * Large binary values out of band (out-of-band.ts): what the dialect leaves in the frame, what
 * it hands to the link, how the receiver's dialect puts the values back, and what it refuses.
 */
import { IpcError, msgpackDialect, request, success } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attachments, OOB_KEY, OUT_OF_BAND_MIN, outOfBandDialect, rdmaMsgpackDialect } from '../src/index.js';

const big = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('out-of-band binaries', () => {
  it('takes large binaries out of the frame, up to three levels deep, and puts them back', () => {
    const a = big(OUT_OF_BAND_MIN, 1);
    const b = big(OUT_OF_BAND_MIN * 3, 2);
    const small = big(100, 3);
    const deep = big(OUT_OF_BAND_MIN, 4);
    const params = { a, list: [small, { b }], keep: 'x', deeper: { l1: { l2: { l3: deep } } } };
    const frame = rdmaMsgpackDialect.encode(request('put', params, '1')) as Uint8Array;
    const parts = attachments.get(frame)!;
    expect(parts).toEqual([a, b]);
    expect(frame.byteLength).toBeLessThan(OUT_OF_BAND_MIN + 1000); // `deep` (level 4) stays inside
    // the caller's object is not modified
    expect(params.a).toBe(a);
    // the receiver: the link hands the buffers over with the frame
    const received = Uint8Array.from(frame);
    attachments.set(
      received,
      parts.map((p) => Buffer.from(p)),
    );
    const message = rdmaMsgpackDialect.decode(received) as ReturnType<typeof request>;
    const got = message.payload.params as typeof params;
    const same = (x: Uint8Array, y: Uint8Array) => Buffer.from(x).equals(Buffer.from(y));
    expect(same(got.a, a)).toBe(true);
    expect(same(got.list[0] as Uint8Array, small)).toBe(true);
    expect(same((got.list[1] as { b: Uint8Array }).b, b)).toBe(true);
    expect(got.keep).toBe('x');
    expect(same(got.deeper.l1.l2.l3, deep)).toBe(true);
  });

  it('leaves a message without large binaries exactly as core msgpack writes it', () => {
    const m = success('7', { data: big(10, 9), n: 1 });
    const frame = rdmaMsgpackDialect.encode(m) as Uint8Array;
    expect(attachments.has(frame)).toBe(false);
    expect(Buffer.from(frame).equals(Buffer.from(msgpackDialect.encode(m) as Uint8Array))).toBe(true);
  });

  it('takes a top-level binary result out too', () => {
    const frame = rdmaMsgpackDialect.encode(success('2', big(OUT_OF_BAND_MIN * 2, 5))) as Uint8Array;
    expect(attachments.get(frame)).toHaveLength(1);
  });

  it('refuses markers naming no attachment and attachments without a marker (PROTOCOL)', () => {
    const dialect = outOfBandDialect();
    const marker = msgpackDialect.encode(request('m', { x: { [OOB_KEY]: 3 } }, '1')) as Uint8Array;
    attachments.set(marker, [big(1, 1)]);
    expect(() => dialect.decode(marker)).toThrowError(expect.objectContaining({ code: 'PROTOCOL' }));
    const plain = msgpackDialect.encode(request('m', { x: 1 }, '1')) as Uint8Array;
    attachments.set(plain, [big(1, 1)]);
    expect(() => dialect.decode(plain)).toThrowError(expect.objectContaining({ code: 'PROTOCOL' }));
  });

  it('random markers and attachment counts never crash the decoder', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string(),
        fc.record({ [OOB_KEY]: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.string()) }),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 3 }), tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, fc.nat({ max: 3 }), (params, n) => {
        const frame = msgpackDialect.encode(request('m', params, '1')) as Uint8Array;
        attachments.set(
          frame,
          Array.from({ length: n }, () => big(2, 0)),
        );
        try {
          rdmaMsgpackDialect.decode(frame);
        } catch (err) {
          expect(err).toBeInstanceOf(IpcError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
