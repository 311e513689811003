/**
 * ipckit's writer lock (wire-formats.md §4): a file created exclusively (O_EXCL) holding the
 * writer's PID and a newline, removed when the write is done. A writer retries 50 times, 10 ms
 * apart, and treats a lock older than 5 s as stale.
 *
 * Two improvements, compatible with ipckit peers:
 * - a lock whose PID is not running on this machine is stale at once (ipckit waits 5 s);
 * - breaking a stale lock has a single winner among our processes: the breaker first takes
 *   `<lock>.break` exclusively, then removes the lock only if it is still the very file (inode)
 *   judged stale. ipckit removes stale locks without that check; it only does so after 5 s.
 */
import { promises as fs } from 'node:fs';
import { IpcError, sleep } from '@openclaw-ipc/core';
import { FILE_MODE, fsError, openNew, pidAlive, readText } from './channel-dir.js';

export interface IpckitLockOptions {
  /** Attempts before the staleness check. Default 50 (ipckit's). */
  attempts?: number;
  /** Milliseconds between attempts. Default 10 (ipckit's). */
  retryDelay?: number;
  /** Age after which a lock is stale, in ms. Default 5000 (ipckit's). */
  staleAfter?: number;
  /** Treat a lock whose PID is not running here as stale at once. Default true. */
  checkPid?: boolean;
  /** Told about every stale lock taken over (PROTOCOL, with the lock's path and PID). */
  onStale?: (error: IpcError) => void;
}

/** A held lock; release() removes it if it is still ours. */
export interface IpckitLock {
  release(): Promise<void>;
}

const BREAKER_STALE_MS = 5000;

async function readPid(path: string): Promise<number | undefined> {
  try {
    const text = await readText(path);
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isSafeInteger(pid) && /^\d+\s*$/.test(text) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function tryCreate(path: string, mode: number): Promise<IpckitLock | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await openNew(path, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw fsError(err, 'create the lock', path);
  }
  let mine: LockIdentity;
  try {
    await handle.writeFile(`${process.pid}\n`);
    const stat = await handle.stat({ bigint: true });
    mine = { ino: stat.ino, ctimeNs: stat.ctimeNs };
  } finally {
    await handle.close();
  }
  return {
    async release() {
      try {
        const now = await identityOf(path);
        if (now?.ino === mine.ino && now.ctimeNs === mine.ctimeNs) await fs.unlink(path);
      } catch {
        // already removed (taken over as stale): nothing of ours to remove
      }
    },
  };
}

/** Identity of one lock file: an inode number is reused at once after an unlink, its ctime is not. */
interface LockIdentity {
  ino: bigint;
  ctimeNs: bigint;
}

async function identityOf(path: string): Promise<LockIdentity | undefined> {
  const stat = await fs.lstat(path, { bigint: true }).catch(() => undefined);
  return stat && { ino: stat.ino, ctimeNs: stat.ctimeNs };
}

/**
 * Removes the stale lock `path` (the file `seen`) unless another breaker is at work, after
 * checking, while holding the breaker, that it is still that file and still stale: another
 * breaker may have removed it and a writer made a new one meanwhile (with the same inode number).
 */
async function breakStale(
  path: string,
  seen: LockIdentity,
  mode: number,
  stillStale: () => Promise<boolean>,
): Promise<boolean> {
  const breaker = `${path}.break`;
  let handle: fs.FileHandle;
  try {
    handle = await openNew(breaker, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'create', breaker);
    // A breaker that died in its sub-millisecond window leaves this file; clear it when old.
    try {
      const stat = await fs.lstat(breaker);
      if (Date.now() - stat.mtimeMs > BREAKER_STALE_MS) await fs.unlink(breaker);
    } catch {
      // gone meanwhile
    }
    return false;
  }
  try {
    await handle.close();
    const now = await identityOf(path);
    if (now?.ino !== seen.ino || now.ctimeNs !== seen.ctimeNs) return false;
    if (!(await stillStale())) return false;
    await fs.unlink(path).catch(() => {});
    return true;
  } finally {
    await fs.unlink(breaker).catch(() => {});
  }
}

/**
 * Takes the lock at `path`, a file of mode `fileMode` (the channel's).
 * @throws IpcError TIMEOUT when a live writer holds it past the attempts; UNAVAILABLE when the
 *   directory refuses the file.
 */
export async function acquireIpckitLock(
  path: string,
  options: IpckitLockOptions = {},
  fileMode = FILE_MODE,
): Promise<IpckitLock> {
  const attempts = options.attempts ?? 50;
  const retryDelay = options.retryDelay ?? 10;
  const staleAfter = options.staleAfter ?? 5000;
  const checkPid = options.checkPid ?? true;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < attempts; i++) {
      const lock = await tryCreate(path, fileMode);
      if (lock) return lock;
      const seen = await identityOf(path);
      if (!seen) continue;
      const judge = async () => {
        const stat = await fs.lstat(path).catch(() => undefined);
        if (!stat) return undefined;
        const pid = checkPid ? await readPid(path) : undefined;
        const deadPid = pid !== undefined && pid !== process.pid && !pidAlive(pid);
        const old = Date.now() - stat.mtimeMs > staleAfter;
        return { pid, deadPid, stale: deadPid || (old && i === attempts - 1) };
      };
      const verdict = await judge();
      if (verdict?.stale) {
        const { pid, deadPid } = verdict;
        if (await breakStale(path, seen, fileMode, async () => (await judge())?.stale === true)) {
          options.onStale?.(
            new IpcError(
              'PROTOCOL',
              `took over a stale lock ${path} (${deadPid ? `PID ${pid} is gone` : 'too old'})`,
              {
                details: { path, pid, reason: deadPid ? 'dead-pid' : 'stale' },
              },
            ),
          );
        }
        continue;
      }
      await sleep(retryDelay);
    }
  }
  throw new IpcError('TIMEOUT', `lock ${path} is held by a running writer`, {
    details: { path, pid: await readPid(path) },
  });
}
