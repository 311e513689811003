import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpcError } from '@openclaw-ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireIpckitLock } from '../src/index.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(() => {
  for (const f of cleanups.splice(0)) f();
});

/** The PID of a process that has ended. */
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);

describe('ipckit lock', () => {
  it('holds the PID and a newline, and is removed on release', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'x.lock');
    const lock = await acquireIpckitLock(path);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    expect(() => readFileSync(path)).toThrow();
  });

  it('a dead PID lock broken by 8 racing takers: one holder at a time, one takeover', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'x.lock');
    const dead = deadPid();
    writeFileSync(path, `${dead}\n`);
    const stale: IpcError[] = [];
    let holders = 0;
    let maxHolders = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await acquireIpckitLock(path, { onStale: (e) => stale.push(e) });
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        await new Promise((r) => setTimeout(r, 5));
        holders--;
        await lock.release();
      }),
    );
    expect(maxHolders).toBe(1);
    expect(stale).toHaveLength(1);
    expect(stale[0]!.details).toMatchObject({ pid: dead, reason: 'dead-pid' });
  });

  it('20 rounds of 16 takers racing over a dead PID lock: never two holders (inode numbers are reused)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'x.lock');
    const dead = deadPid();
    let holders = 0;
    let maxHolders = 0;
    let taken = 0;
    for (let round = 0; round < 20; round++) {
      writeFileSync(path, `${dead}\n`);
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          const lock = await acquireIpckitLock(path);
          holders++;
          taken++;
          maxHolders = Math.max(maxHolders, holders);
          await new Promise((r) => setImmediate(r));
          holders--;
          await lock.release();
        }),
      );
    }
    expect(taken).toBe(20 * 16);
    expect(maxHolders).toBe(1);
  });

  it('a lock older than 5 s with a live PID is stale after the attempts (ipckit rule)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'x.lock');
    writeFileSync(path, `${process.pid}\n`);
    const { utimesSync } = await import('node:fs');
    const old = new Date(Date.now() - 6000);
    utimesSync(path, old, old);
    const stale: IpcError[] = [];
    const lock = await acquireIpckitLock(path, { attempts: 5, retryDelay: 1, onStale: (e) => stale.push(e) });
    await lock.release();
    expect(stale.map((e) => (e.details as { reason: string }).reason)).toEqual(['stale']);
  });
});
