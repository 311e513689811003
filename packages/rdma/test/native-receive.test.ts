/**
 * Receive buffers of the native addon (`receiveBuffer`, `receiveCache`): sizes, contents that
 * can be written and read back, argument errors, the cache limit, and the reuse of a mapping
 * once its Buffer has been garbage-collected (garbage collection forced through V8's gc
 * extension in a fresh context).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNative } from '../src/native.js';
import { pattern } from './fixtures/native-pattern.js';

const addon = loadNative();
const MiB = 1024 * 1024;
const initialLimit = addon.receiveCache().limit;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

afterAll(() => {
  addon.receiveCache(initialLimit);
});

describe('receiveBuffer', () => {
  it('returns a writable Buffer of exactly the size asked', () => {
    for (const size of [1, 4095, MiB, 3 * MiB + 17]) {
      const b = addon.receiveBuffer(size);
      expect(Buffer.isBuffer(b)).toBe(true);
      expect(b.length).toBe(size);
      const p = pattern(size, size);
      b.set(p);
      expect(b.equals(p)).toBe(true);
    }
  });

  it('rejects sizes that are not between 1 byte and 1 TiB with EINVAL', () => {
    for (const bad of [0, -1, 2 ** 41, 'x' as unknown as number]) {
      let error: unknown;
      try {
        addon.receiveBuffer(bad);
      } catch (err) {
        error = err;
      }
      expect((error as { code?: string }).code).toBe('EINVAL');
    }
    expect(() => addon.receiveCache(-1)).toThrow(/limit/);
  });

  it('reuses a garbage-collected mapping from the cache, within the limit', async () => {
    const limit = addon.receiveCache(64 * MiB).limit;
    expect(limit).toBe(64 * MiB);
    let b: Buffer | undefined = addon.receiveBuffer(5 * MiB);
    b.fill(1);
    b = undefined;
    let state = addon.receiveCache();
    for (let i = 0; i < 50 && state.buffers === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
      state = addon.receiveCache();
    }
    expect(state.buffers).toBeGreaterThan(0);
    expect(state.bytes).toBeLessThanOrEqual(64 * MiB);
    const hits = state.hits;
    const again = addon.receiveBuffer(5 * MiB);
    expect(again.length).toBe(5 * MiB);
    expect(addon.receiveCache().hits).toBe(hits + 1);
    // Lowering the limit unmaps what is over it.
    const emptied = addon.receiveCache(0);
    expect(emptied.limit).toBe(0);
    expect(emptied.bytes).toBe(0);
    expect(emptied.buffers).toBe(0);
  });
});
