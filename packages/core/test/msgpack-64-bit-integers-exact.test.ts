/**
 * The msgpack codec keeps 64-bit integers exact: uint64/int64 values beyond
 * Number.MAX_SAFE_INTEGER decode as BigInts (a float would round 2^60 + 1 to
 * 1152921504606847000), values a number holds exactly stay numbers, and a BigInt encodes as
 * int64 (uint64 above 2^63 - 1).
 */
import { decode as referenceDecode, encode as referenceEncode } from '@msgpack/msgpack';
import { msgpackCodec, msgpackDialect, request, success } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rpcPair } from './util/harness.js';

const TWO_60_PLUS_1 = 2n ** 60n + 1n;

/** A MessagePack uint64 (0xcf) or int64 (0xd3) holding `value`, written byte by byte. */
function int64Bytes(value: bigint, unsigned: boolean): Uint8Array {
  const bytes = Buffer.alloc(9);
  bytes[0] = unsigned ? 0xcf : 0xd3;
  if (unsigned) bytes.writeBigUInt64BE(value, 1);
  else bytes.writeBigInt64BE(value, 1);
  return bytes;
}

/** The exact value of a decoded 64-bit integer, as the decoder should give it. */
const expected = (value: bigint): number | bigint =>
  value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value;

describe('64-bit integers beyond 2^53', () => {
  it('decodes uint64 2^60 + 1 exactly, as a BigInt', () => {
    expect(msgpackCodec.decode(int64Bytes(TWO_60_PLUS_1, true))).toBe(TWO_60_PLUS_1);
    expect(msgpackCodec.decode(int64Bytes(2n ** 64n - 1n, true))).toBe(2n ** 64n - 1n);
  });

  it('decodes int64 below -2^53 exactly, as a BigInt', () => {
    expect(msgpackCodec.decode(int64Bytes(-TWO_60_PLUS_1, false))).toBe(-TWO_60_PLUS_1);
    expect(msgpackCodec.decode(int64Bytes(-(2n ** 63n), false))).toBe(-(2n ** 63n));
  });

  it('keeps 64-bit integers that a number holds exactly as numbers', () => {
    expect(msgpackCodec.decode(int64Bytes(5n, true))).toBe(5);
    expect(msgpackCodec.decode(int64Bytes(2n ** 53n - 1n, true))).toBe(Number.MAX_SAFE_INTEGER);
    expect(msgpackCodec.decode(int64Bytes(-5n, false))).toBe(-5);
    expect(msgpackCodec.decode(int64Bytes(-(2n ** 53n - 1n), false))).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('decodes every uint64 and int64 exactly', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 2n ** 64n - 1n), (v) => {
        expect(msgpackCodec.decode(int64Bytes(v, true))).toBe(expected(v));
      }),
    );
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), (v) => {
        expect(msgpackCodec.decode(int64Bytes(v, false))).toBe(expected(v));
      }),
    );
  });

  it('encodes a BigInt as int64, or uint64 above 2^63 - 1, that other libraries read exactly', () => {
    const signed = msgpackCodec.encode(TWO_60_PLUS_1);
    expect(signed[0]).toBe(0xd3);
    expect(referenceDecode(signed, { useBigInt64: true })).toBe(TWO_60_PLUS_1);
    const unsigned = msgpackCodec.encode(2n ** 64n - 1n);
    expect(unsigned[0]).toBe(0xcf);
    expect(referenceDecode(unsigned, { useBigInt64: true })).toBe(2n ** 64n - 1n);
    expect(msgpackCodec.decode(msgpackCodec.encode(-TWO_60_PLUS_1))).toBe(-TWO_60_PLUS_1);
  });

  it('the msgpack dialect carries them exactly in params and results (envelope codec)', () => {
    const req = request('m', { n: TWO_60_PLUS_1, list: [2n ** 64n - 1n, 7] }, 'id-1');
    expect(msgpackDialect.decode(msgpackDialect.encode(req))).toEqual(req);
    const res = success('id-1', TWO_60_PLUS_1);
    expect(msgpackDialect.decode(msgpackDialect.encode(res))).toEqual(res);
  });

  it('the msgpack dialect reads a uint64 written by another library', () => {
    const frame = referenceEncode(
      { id: 'x', payload: { type: 'response', success: true, result: TWO_60_PLUS_1, error: null } },
      { useBigInt64: true },
    );
    const decoded = msgpackDialect.decode(frame);
    expect(decoded).toMatchObject({ id: 'x', payload: { type: 'response', result: TWO_60_PLUS_1 } });
  });

  it('a request and its result keep 2^60 + 1 from client to handler and back', async () => {
    const { server, client } = await rpcPair();
    const seen: unknown[] = [];
    server.handle('inc', (params: { n: bigint }) => {
      seen.push(params.n);
      return params.n + 1n;
    });
    expect(await client.request('inc', { n: TWO_60_PLUS_1 })).toBe(TWO_60_PLUS_1 + 1n);
    expect(seen).toEqual([TWO_60_PLUS_1]);
  });
});
