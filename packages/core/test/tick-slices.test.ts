/**
 * TickSlices, the write schedule the unix and ws links share: a tick's first write once it holds
 * half the previous tick's frames (the first frame after a tick of one), later writes every
 * `most` frames, the rest when the tick ends.
 */
import { describe, expect, it } from 'vitest';
import { TickSlices } from '../src/index.js';

/** The writes a link following the schedule makes for ticks of the given sizes (frames each). */
function writesFor(ticks: number[], most = 16): number[][] {
  const slices = new TickSlices(most);
  return ticks.map((count) => {
    const writes: number[] = [];
    let batched = 0;
    for (let i = 0; i < count; i++) {
      batched++;
      if (slices.add(batched)) {
        writes.push(batched);
        batched = 0;
      }
    }
    slices.end();
    if (batched > 0) writes.push(batched);
    return writes;
  });
}

describe('TickSlices', () => {
  it('writes half the previous tick first, then `most` at a time, the rest at the end', () => {
    expect(writesFor([16, 16, 40, 1, 3, 1, 64, 64])).toEqual([
      [1, 15],
      [8, 8],
      [8, 16, 16],
      [1],
      [1, 2],
      [1],
      [1, 16, 16, 16, 15],
      [16, 16, 16, 16],
    ]);
  });

  it('one frame a tick leaves at once every time; an empty tick keeps the size', () => {
    const slices = new TickSlices(16);
    for (let i = 0; i < 5; i++) {
      expect(slices.add(1)).toBe(true);
      slices.end();
    }
    slices.add(1);
    slices.add(2);
    slices.add(3);
    slices.end(); // a tick of 3: the next first write holds 2
    slices.end(); // nothing sent: no change
    expect(slices.add(1)).toBe(false);
    expect(slices.add(2)).toBe(true);
  });
});
