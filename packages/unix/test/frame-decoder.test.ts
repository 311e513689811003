import { describe, expect, it } from 'vitest';
import { encodeFrame, LengthPrefixedDecoder } from '../src/index.js';

const collect = (limit = 1024) => {
  const frames: string[] = [];
  const decoder = new LengthPrefixedDecoder(limit, (f) => frames.push(Buffer.from(f).toString('hex')));
  return { frames, decoder };
};

describe('LengthPrefixedDecoder', () => {
  it('cuts several frames out of one chunk', () => {
    const { frames, decoder } = collect();
    decoder.push(Buffer.concat([encodeFrame(Buffer.from([1])), encodeFrame(Buffer.from([2, 3]))]));
    expect(frames).toEqual(['01', '0203']);
  });

  it('reassembles a header split over chunks', () => {
    const { frames, decoder } = collect();
    const f = encodeFrame(Buffer.from([9, 9]));
    decoder.push(f.subarray(0, 1));
    decoder.push(f.subarray(1, 3));
    decoder.push(f.subarray(3));
    expect(frames).toEqual(['0909']);
  });

  // Found by fuzzing: a chunk ending right after a header, with the body in the next chunk,
  // left nothing buffered, and the next chunk was wrongly read as starting with a header.
  it('reads the body of a header that ended the previous chunk', () => {
    const { frames, decoder } = collect();
    const stream = Buffer.concat([encodeFrame(Buffer.from([0])), encodeFrame(Buffer.from([0, 3, 0, 0]))]);
    decoder.push(stream.subarray(0, 9)); // first frame and the second's header
    decoder.push(stream.subarray(9));
    expect(frames).toEqual(['00', '00030000']);
  });

  it('accepts empty frames', () => {
    const { frames, decoder } = collect();
    decoder.push(Buffer.concat([encodeFrame(new Uint8Array()), encodeFrame(Buffer.from([7]))]));
    expect(frames).toEqual(['', '07']);
  });

  it('rejects a frame over the limit from its header alone', () => {
    const { frames, decoder } = collect(4);
    expect(() => decoder.push(Buffer.from([5, 0, 0, 0]))).toThrow(
      expect.objectContaining({ code: 'MESSAGE_TOO_LARGE', details: { size: 5, limit: 4 } }),
    );
    expect(frames).toEqual([]);
    expect(decoder.pending).toBe(0);
  });
});
