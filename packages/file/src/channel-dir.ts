/**
 * The channel directory: created 0700, its files 0600, permission problems turned into a clear
 * IpcError, and the small file primitives both modes share (exclusive create, atomic replace).
 */
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { IpcError } from '@openclaw-ipc/core';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** The error for a failed file operation on `path`, with a stable code. */
export function fsError(err: unknown, what: string, path: string): IpcError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return new IpcError('UNAVAILABLE', `no permission to ${what} ${path}`, {
      cause: err,
      details: { path, code },
    });
  return new IpcError('UNAVAILABLE', `cannot ${what} ${path}: ${code ?? (err as Error).message}`, {
    cause: err,
    details: { path, code },
  });
}

/**
 * Creates `dir` (mode 0700) if missing and checks that this process may read, write and enter it.
 * An existing directory keeps its mode (it may be shared with an ipckit peer).
 * @throws IpcError UNAVAILABLE (no permission, not a directory).
 */
export async function prepareChannelDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    throw fsError(err, 'create the channel directory', dir);
  }
  try {
    const stat = await fs.stat(dir);
    if (!stat.isDirectory()) throw new IpcError('UNAVAILABLE', `${dir} is not a directory`);
    await fs.access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw IpcError.is(err) ? err : fsError(err, 'use the channel directory', dir);
  }
}

/** Creates `path` with `content` (mode 0600) unless it exists; never overwrites. */
export async function createIfMissing(path: string, content: string): Promise<void> {
  try {
    await fs.writeFile(path, content, { flag: 'wx', mode: FILE_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'create', path);
  }
}

/** Writes `content` to `tmp` (mode 0600) and renames it over `path`: readers see old or new. */
export async function replaceFile(path: string, tmp: string, content: string | Uint8Array): Promise<void> {
  try {
    await fs.writeFile(tmp, content, { mode: FILE_MODE });
    await fs.rename(tmp, path);
  } catch (err) {
    throw fsError(err, 'write', path);
  }
}

const HOST = hostname();

/** Whether the process `pid` exists on this machine (EPERM: it exists, owned by another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This machine's host name, stored beside PIDs so a PID is only checked on its own host. */
export const thisHost = (): string => HOST;
