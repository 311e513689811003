import { describe, expect, it } from 'vitest';
import { IdTable } from '../src/id-table.js';

describe('IdTable', () => {
  it('adds, replaces, finds and removes entries by id, counting them', () => {
    const t = new IdTable<{ n: number }>();
    const a = { n: 1 };
    expect(t.set('1', a)).toBe(t);
    t.set('abc', { n: 2 });
    expect(t.size).toBe(2);
    expect(t.get('1')).toBe(a);
    expect(t.has('abc')).toBe(true);
    t.set('1', { n: 3 });
    expect(t.size).toBe(2);
    expect(t.get('1')).toEqual({ n: 3 });
    expect(t.delete('1')).toBe(true);
    expect(t.delete('1')).toBe(false);
    expect(t.get('1')).toBeUndefined();
    expect(t.has('1')).toBe(false);
    expect(t.size).toBe(1);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.values()).toEqual([]);
  });

  it('treats ids that name Object.prototype members as plain ids', () => {
    const t = new IdTable<string>();
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(t.get(id)).toBeUndefined();
      expect(t.has(id)).toBe(false);
      t.set(id, id);
    }
    expect(t.size).toBe(5);
    expect(t.get('__proto__')).toBe('__proto__');
    expect(t.delete('constructor')).toBe(true);
    expect(t.values().sort()).toEqual(['__proto__', 'hasOwnProperty', 'toString', 'valueOf']);
  });

  it('lists its values in the order they were added', () => {
    const t = new IdTable<string>();
    for (const id of ['b-uuid', '10', 'a-uuid', '2', '9']) t.set(id, id);
    t.set('10', '10');
    expect(t.values()).toEqual(['b-uuid', '10', 'a-uuid', '2', '9']);
    t.delete('b-uuid');
    t.set('b-uuid', 'b-uuid');
    expect(t.values()).toEqual(['10', 'a-uuid', '2', '9', 'b-uuid']);
  });

  it('finds every entry after removals in any order, growing and shrinking (against a Map)', () => {
    const t = new IdTable<number>();
    const m = new Map<string, number>();
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const ids = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? crypto.randomUUID() : String(i)));
    for (let step = 0; step < 60_000; step++) {
      const id = ids[rand(step < 30_000 ? ids.length : 40)]!;
      if (rand(3) === 0) expect(t.delete(id)).toBe(m.delete(id));
      else {
        t.set(id, step);
        m.set(id, step);
      }
      expect(t.size).toBe(m.size);
    }
    for (const id of ids) expect(t.get(id)).toBe(m.get(id));
    expect(t.values().sort()).toEqual([...m.values()].sort());
  });

  it('keeps a snapshot of its values stable while entries are removed', () => {
    const t = new IdTable<number>();
    for (let i = 1; i <= 100; i++) t.set(String(i), i);
    const seen: number[] = [];
    for (const v of t.values()) {
      seen.push(v);
      t.delete(String(v));
      t.delete(String(v + 1));
    }
    expect(seen).toHaveLength(100);
    expect(t.size).toBe(0);
  });

  it('holds many entries coming and going, as a client with requests in flight does', () => {
    const t = new IdTable<number>();
    let next = 0;
    for (let i = 0; i < 64; i++) t.set(String(++next), next);
    for (let round = 0; round < 100_000; round++) {
      expect(t.delete(String(next - 63))).toBe(true);
      t.set(String(++next), next);
    }
    expect(t.size).toBe(64);
    expect(t.values()).toEqual(Array.from({ length: 64 }, (_, i) => next - 63 + i));
  });

  it('gives memory back after a burst and keeps its size while requests come and go', () => {
    const t = new IdTable<number>();
    const capacity = () => (t as unknown as { slots: unknown[] }).slots.length;
    for (let i = 0; i < 10_000; i++) t.set(String(i), i);
    expect(capacity()).toBe(32_768);
    for (let i = 0; i < 10_000; i++) t.delete(String(i));
    // A client between 0 and 64 in flight: its table settles and stays.
    let next = 10_000;
    const sizes = new Set<number>();
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 64; i++) t.set(String(next + i), i);
      for (let i = 0; i < 64; i++) t.delete(String(next + i));
      next += 64;
      if (round >= 100) sizes.add(capacity());
    }
    expect([...sizes]).toEqual([256]);
    expect(t.size).toBe(0);
  });
});
