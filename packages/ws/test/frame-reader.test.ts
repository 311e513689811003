/**
 * FrameReader against ws's own Receiver: the frames it reads it reads as ws does, every other
 * frame it leaves untouched, on random and mutated bytes too (with both UTF-8 readers).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../src/frame-reader.js';
import { encode, pieceArb, readWithWs, show } from './util/frames.js';
import { UTF8_CODECS } from './util/modes.js';

describe.each(UTF8_CODECS)('FrameReader (%s UTF-8)', (_codec, utf8) => {
  it('reads whole text and binary frames as ws does, and leaves every other frame untouched', () => {
    fc.assert(
      fc.property(pieceArb, fc.boolean(), (piece, masked) => {
        const bytes = encode([piece], masked);
        const before = Buffer.from(bytes);
        const reader = new FrameReader(masked, utf8);
        if (reader.read(bytes, 0, 0)) {
          expect(reader.end).toBe(bytes.length);
          expect([show(reader.payload)]).toEqual(readWithWs(before, masked));
        } else {
          expect(bytes.equals(before)).toBe(true);
          expect(piece.kind === 'ping' || piece.kind === 'fragments').toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random or mutated bytes, never reads past them, and restores what it refuses', () => {
    const mutated = fc
      .tuple(
        pieceArb,
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([piece, masked, edits]) => {
        const bytes = encode([piece], masked);
        for (const [at, value] of edits) if (bytes.length) bytes[at % bytes.length] = value;
        return { bytes, masked };
      });
    const random = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([b, masked]) => ({
      bytes: Buffer.from(b),
      masked,
    }));
    fc.assert(
      fc.property(
        fc.oneof(mutated, random),
        fc.nat(40),
        fc.nat(1000),
        ({ bytes, masked }, at, maxPayload) => {
          const before = Buffer.from(bytes);
          const reader = new FrameReader(masked, utf8);
          const start = Math.min(at, bytes.length);
          if (reader.read(bytes, start, maxPayload)) {
            expect(reader.end).toBeGreaterThan(start);
            expect(reader.end).toBeLessThanOrEqual(bytes.length);
            // What it accepts, ws accepts with the same payload.
            const alone = before.subarray(start, reader.end);
            expect([show(reader.payload)]).toEqual(readWithWs(alone, masked, maxPayload));
          } else {
            expect(bytes.equals(before)).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves frames over the payload limit, and text that is not UTF-8, to ws', () => {
    const reader = new FrameReader(false, utf8);
    expect(reader.read(encode([{ kind: 'text', data: 'x'.repeat(11) }], false), 0, 10)).toBe(false);
    expect(reader.read(encode([{ kind: 'text', data: 'x'.repeat(10) }], false), 0, 10)).toBe(true);
    const invalid = Buffer.from([0x81, 0x02, 0xc3, 0x28]);
    expect(reader.read(invalid, 0, 0)).toBe(false);
    expect(reader.read(Buffer.from([0x81, 0x03, 0xef, 0xbf, 0xbd]), 0, 0)).toBe(true);
    expect(reader.payload).toBe('\ufffd');
  });
});
