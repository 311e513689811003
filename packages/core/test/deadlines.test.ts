import { describe, expect, it } from 'vitest';
import { Deadlines } from '../src/deadlines.js';

interface Entry {
  id: number;
  deadline: number;
  live: boolean;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Deadlines: many timeouts on one timer', () => {
  it('expires live entries in deadline order, whatever the order they were added in', async () => {
    const expired: number[] = [];
    const d = new Deadlines<Entry>(
      (e) => e.live,
      (e) => expired.push(e.id),
    );
    const now = performance.now();
    const entries = [30, 10, 20, 5].map((ms, i) => ({ id: i, deadline: now + ms, live: true }));
    for (const e of entries) d.add(e, entries.length);
    await wait(60);
    expect(expired).toEqual([3, 1, 2, 0]);
    d.clear();
  });

  it('never expires an entry that settled before its deadline', async () => {
    const expired: number[] = [];
    const d = new Deadlines<Entry>(
      (e) => e.live,
      (e) => expired.push(e.id),
    );
    const now = performance.now();
    const a = { id: 1, deadline: now + 10, live: true };
    const b = { id: 2, deadline: now + 15, live: true };
    d.add(a, 1);
    d.add(b, 2);
    a.live = false;
    await wait(40);
    expect(expired).toEqual([2]);
  });

  it('keeps memory proportional to the live entries when most settle early', () => {
    const d = new Deadlines<Entry>(
      (e) => e.live,
      () => {},
    );
    const far = performance.now() + 60_000;
    for (let i = 0; i < 10_000; i++) {
      const e = { id: i, deadline: far + i, live: true };
      d.add(e, 1);
      e.live = false; // settled at once, as a fast request does
    }
    expect(d.size).toBeLessThanOrEqual(64);
    d.clear();
    expect(d.size).toBe(0);
  });
});
