/**
 * The journal's writer lock: proper-lockfile (a `<writer>.lock` directory whose mtime is kept
 * fresh), with two things it lacks made safe here:
 *
 * - Stale takeover has a single winner. proper-lockfile removes a stale lock and retakes it
 *   without checking that it removed the lock it judged (its issue #121: two processes can both
 *   win). Its own takeover is disabled (an unreachable stale time); ours takes `<lock>.takeover`
 *   (mkdir, exclusive) first, then removes the lock only if it is still the very directory
 *   (inode) judged stale, and only the winner of that step proceeds.
 * - A lock is stale when its owner's PID (recorded in `<writer>.lock/owner` with the host and
 *   the lock's inode) is not running on this machine, or when its mtime has not been refreshed
 *   for `staleAfter` ms (an owner on another machine, or one stalled that long). A dead owner's
 *   lock is taken over only once it has also gone unrefreshed for DEAD_OWNER_GRACE_MS: a new lock
 *   whose directory got the dead one's inode number (file systems reuse them at once) carries the
 *   dead owner's record until its own owner writes the new one, and would otherwise be "taken
 *   over" while alive (seen in CI). The record cannot live inside the lock directory: writing it
 *   there changes the directory's mtime, which proper-lockfile reads as a compromised lock.
 * - "Compromised" (the lock was taken over or removed under us) is reported as an IpcError
 *   through onCompromised, never thrown.
 */
import { randomUUID } from 'node:crypto';
import nodeFs, { promises as fs } from 'node:fs';
import { IpcError, sleep } from '@openclaw-ipc/core';
import lockfile from 'proper-lockfile';
import { DIR_MODE, FILE_MODE, fsError, pidAlive, readText, replaceFile, thisHost } from './channel-dir.js';

export interface JournalLockOptions {
  /** Milliseconds without a refresh after which a lock is stale. Default 10 000 (min 2000). */
  staleAfter?: number;
  /** Milliseconds to wait for the lock before TIMEOUT. Default 15 000. */
  acquireTimeout?: number;
  /** Called once if the lock is lost while held (CLOSED, details.reason 'lock-compromised'). */
  onCompromised?: (error: IpcError) => void;
  /** Told about each stale lock taken over (PROTOCOL, details: owner, reason). */
  onStale?: (error: IpcError) => void;
}

export interface JournalLock {
  /** This holder's token, written in the owner file. */
  readonly token: string;
  /**
   * Whether the lock is still ours: not compromised, and the owner file is still the one we
   * wrote (same inode and ctime: a takeover replaces it by rename). One lstat, no read: it runs
   * before every append.
   */
  stillOwned(): boolean;
  /** Releases the lock. Safe to call twice and after compromise. */
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
  /** Inode of the lock directory this owner created. */
  lockIno: number;
}

/** Larger than any real wait, below setTimeout's limit: proper-lockfile never judges staleness. */
const NEVER_STALE = 2 ** 30;
const TAKEOVER_STALE_MS = 5000;
/** A live lock is refreshed every second; one idle this long with a dead owner is abandoned. */
const DEAD_OWNER_GRACE_MS = 2500;

/** proper-lockfile's file system, creating its lock folder owner-only whatever the umask. */
const lockFs = {
  ...nodeFs,
  mkdir: (path: string, callback: (err: NodeJS.ErrnoException | null) => void) =>
    nodeFs.mkdir(path, { mode: DIR_MODE }, callback),
};

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const value = JSON.parse(await readText(path)) as Owner;
    return typeof value?.pid === 'number' && typeof value.token === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Why the lock at `lockPath` (inode `ino`) is stale, or undefined when it is not. */
async function staleness(lockPath: string, ownerPath: string, staleAfter: number) {
  const stat = await fs.lstat(lockPath).catch(() => undefined);
  if (!stat) return undefined;
  const owner = await readOwner(ownerPath);
  const idle = Date.now() - stat.mtimeMs;
  if (
    owner &&
    owner.lockIno === stat.ino &&
    owner.host === thisHost() &&
    !pidAlive(owner.pid) &&
    idle > DEAD_OWNER_GRACE_MS
  )
    return { ino: stat.ino, owner, reason: 'dead-pid' as const };
  if (Date.now() - stat.mtimeMs > staleAfter) return { ino: stat.ino, owner, reason: 'stale' as const };
  return undefined;
}

/** Removes the stale lock (inode `ino`) if this process wins the takeover. */
async function takeOver(
  lockPath: string,
  ownerPath: string,
  ino: number,
  staleAfter: number,
): Promise<boolean> {
  const guard = `${lockPath}.takeover`;
  try {
    await fs.mkdir(guard, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'create', guard);
    // A taker that died inside its sub-millisecond window leaves the guard; clear it when old.
    const stat = await fs.lstat(guard).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > TAKEOVER_STALE_MS) await fs.rmdir(guard).catch(() => {});
    return false;
  }
  try {
    const again = await staleness(lockPath, ownerPath, staleAfter);
    if (!again || again.ino !== ino) return false;
    await fs.rmdir(lockPath);
    return true;
  } catch {
    return false;
  } finally {
    await fs.rmdir(guard).catch(() => {});
  }
}

/**
 * Takes the writer lock of `target` (a path; the lock is `<target>.lock`, owner-only; the owner
 * record `<target>.owner` has mode `fileMode`).
 * @throws IpcError TIMEOUT (a live writer holds it), UNAVAILABLE (file system refuses).
 */
export async function acquireJournalLock(
  target: string,
  options: JournalLockOptions = {},
  fileMode = FILE_MODE,
): Promise<JournalLock> {
  const lockPath = `${target}.lock`;
  const ownerPath = `${target}.owner`;
  const staleAfter = Math.max(options.staleAfter ?? 10_000, 2000);
  const deadline = Date.now() + (options.acquireTimeout ?? 15_000);
  const token = randomUUID();
  let compromised = false;
  for (;;) {
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(target, {
        lockfilePath: lockPath,
        realpath: false,
        fs: lockFs,
        stale: NEVER_STALE,
        update: 1000,
        retries: 0,
        onCompromised: (err) => {
          if (compromised) return;
          compromised = true;
          options.onCompromised?.(
            new IpcError('CLOSED', `journal writer lock ${lockPath} compromised: ${err.message}`, {
              cause: err,
              details: { reason: 'lock-compromised', path: lockPath },
            }),
          );
        },
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw fsError(err, 'lock', lockPath);
      const stale = await staleness(lockPath, ownerPath, staleAfter);
      if (stale && (await takeOver(lockPath, ownerPath, stale.ino, staleAfter))) {
        options.onStale?.(
          new IpcError('PROTOCOL', `took over the stale journal lock ${lockPath} (${stale.reason})`, {
            details: { path: lockPath, reason: stale.reason, owner: stale.owner },
          }),
        );
        continue;
      }
      if (Date.now() > deadline) {
        throw new IpcError('TIMEOUT', `journal writer lock ${lockPath} is held by a running writer`, {
          details: { path: lockPath, owner: await readOwner(ownerPath) },
        });
      }
      await sleep(25);
      continue;
    }
    const lockIno = (await fs.lstat(lockPath)).ino;
    const owner: Owner = { pid: process.pid, host: thisHost(), token, lockIno };
    await replaceFile(ownerPath, `${ownerPath}.${token}.tmp`, JSON.stringify(owner), fileMode);
    // Whoever replaces the owner file makes a new inode (tmp then rename), and a rename changes
    // the ctime of the file it moves: this identity is ours alone while the file is.
    const written = await fs.lstat(ownerPath);
    let released = false;
    return {
      token,
      stillOwned() {
        if (compromised || released) return false;
        const now = nodeFs.lstatSync(ownerPath, { throwIfNoEntry: false });
        return now?.ino === written.ino && now.ctimeMs === written.ctimeMs;
      },
      async release() {
        if (released) return;
        released = true;
        if (compromised) return;
        await release().catch(() => {});
      },
    };
  }
}
