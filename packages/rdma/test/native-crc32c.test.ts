/**
 * CRC32C of the native addon: the standard check value, and agreement with a bitwise JS
 * reference on random data (fast-check), across alignments, lengths that cross the addon's
 * 3-stream blocks (256 B and 8 KiB) and chained seeds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/native.js';
import { crc32cReference, pattern } from './fixtures/native-pattern.js';

const { crc32c, crc32cCopy } = loadNative();

describe('crc32c', () => {
  it('has the check value 0xE3069283 for "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cReference(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
  });

  it('agrees with the bitwise reference on random data, offsets and seeds', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2000 }),
        fc.nat({ max: 7 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (bytes, skip, seed) => {
          const view = bytes.subarray(Math.min(skip, bytes.length));
          expect(crc32c(view, seed)).toBe(crc32cReference(view, seed));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees on large buffers that use the interleaved streams, and chains', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3 * 256, max: 80_000 }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.nat({ max: 15 }),
        (size, seed, skip) => {
          const bytes = pattern(size + skip, seed).subarray(skip);
          const whole = crc32c(bytes);
          expect(whole).toBe(crc32cReference(bytes));
          const cut = seed % size;
          expect(crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)))).toBe(whole);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('takes ArrayBuffers, DataViews and other typed arrays by their bytes', () => {
    const bytes = pattern(1000, 3);
    const ref = crc32cReference(bytes);
    expect(crc32c(bytes.buffer as ArrayBuffer)).toBe(ref);
    expect(crc32c(new DataView(bytes.buffer))).toBe(ref);
    expect(crc32c(new Uint32Array(bytes.buffer, 0, 250) as unknown as Uint8Array)).toBe(ref);
  });

  it('rejects what is not bytes with EINVAL', () => {
    expect(() => crc32c('abc' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => crc32c(new Uint8Array(1), -1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('crc32cCopy copies and checksums in one pass, agreeing with crc32c on every length and alignment', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 80_000 }),
        fc.nat({ max: 15 }),
        fc.nat({ max: 15 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (size, srcSkip, dstSkip, seed) => {
          const src = pattern(size + srcSkip, seed || 1).subarray(srcSkip);
          const dst = new Uint8Array(size + dstSkip + 8).fill(0xee).subarray(dstSkip);
          expect(crc32cCopy(dst, src, seed)).toBe(crc32c(src, seed));
          expect(Buffer.compare(dst.subarray(0, size), src)).toBe(0);
          expect(dst.subarray(size).every((b) => b === 0xee)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
    // Overlapping views of one buffer: the bytes move as memmove would.
    const one = pattern(100_000, 9);
    const expected = Buffer.from(one.subarray(0, 60_000));
    expect(crc32cCopy(one.subarray(10), one.subarray(0, 60_000))).toBe(crc32c(expected));
    expect(Buffer.compare(one.subarray(10, 60_010), expected)).toBe(0);
  });

  it('crc32cCopy of 4 MiB and more (stores around the caches) agrees with crc32c on lengths and alignments', () => {
    const big = 4 * 1024 * 1024;
    for (const [size, srcSkip, dstSkip] of [
      [big, 0, 0],
      [big + 12_345, 3, 5],
      [big + 3 * 8192 * 7 + 1, 7, 1],
      [9 * 1024 * 1024 + 77, 0, 13],
    ] as const) {
      const src = pattern(size + srcSkip, size).subarray(srcSkip);
      const dst = new Uint8Array(size + dstSkip + 8).fill(0xee).subarray(dstSkip);
      expect(crc32cCopy(dst, src, 0x1234)).toBe(crc32c(src, 0x1234));
      expect(Buffer.compare(dst.subarray(0, size), src)).toBe(0);
      expect(dst.subarray(size).every((b) => b === 0xee)).toBe(true);
    }
  });

  it('crc32cCopy rejects a destination too short, and what is not bytes, with EINVAL', () => {
    expect(() => crc32cCopy(new Uint8Array(3), new Uint8Array(4))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => crc32cCopy(new Uint8Array(3), 'abc' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });
});
