/**
 * The channel folder and the file primitives both modes share. Who may reach a channel
 * (docs/security.md):
 * - the folder is refused (IpcError AUTH) when it is a symlink, is not ours or is writable by
 *   group or others beyond what `fileMode` grants, and when its parent would let another user
 *   replace it, unless `sharedFolder` says it is shared on purpose (the symlink refusal stays);
 * - what an end creates has `fileMode` (0600 by default; folders 0700) whatever the umask: the
 *   mode is set with fchmod/chmod after creation, never left to the umask;
 * - files are opened without following symlinks, and a file that replaces another (tmp then
 *   rename) is always a new file of ours (exclusive create), never one someone left there.
 *
 * Small files (up to SYNC_IO_MAX bytes) are read and written with synchronous calls: a
 * page-cache copy of a few kilobytes takes microseconds, while each call through the libuv
 * thread pool costs a round trip (tens to hundreds of microseconds, two context switches) and a
 * channel write takes a dozen calls. rename(2), which ext4 makes wait for the new file's block
 * allocation, and anything larger stay asynchronous.
 */
import nodeFs, { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  accessMode,
  checkPrivateFolder,
  type FileAccessOptions,
  folderModeFor,
  IpcError,
  sharedFolderOption,
} from '@openclaw-ipc/core';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** How an end creates files and folders in the channel folder, and whether it is shared. */
export interface ChannelAccess {
  readonly fileMode: number;
  readonly folderMode: number;
  readonly sharedFolder: boolean;
}

export const OWNER_ONLY_ACCESS: ChannelAccess = {
  fileMode: FILE_MODE,
  folderMode: DIR_MODE,
  sharedFolder: false,
};

/**
 * The access of an end from its options.
 * @throws IpcError INVALID_ARGUMENT for a bad `fileMode` or `sharedFolder`.
 */
export function channelAccess(options: FileAccessOptions): ChannelAccess {
  const fileMode = accessMode(options.fileMode, 'fileMode');
  return {
    fileMode,
    folderMode: folderModeFor(fileMode),
    sharedFolder: sharedFolderOption(options.sharedFolder),
  };
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** Flags of a read that fails (ELOOP) on a symlink. */
export const READ_NOFOLLOW = constants.O_RDONLY | NOFOLLOW;
/** Flags of a new file of ours: fails when anything, a symlink included, is at the path. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;
/** Flags of a new segment, appended to. */
export const APPEND_NEW = CREATE_NEW | constants.O_APPEND;

/** The error for a failed file operation on `path`, with a stable code. */
export function fsError(err: unknown, what: string, path: string): IpcError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return new IpcError('UNAVAILABLE', `no permission to ${what} ${path}`, {
      cause: err,
      details: { path, code },
    });
  if (code === 'ELOOP')
    return new IpcError('AUTH', `refusing to ${what} ${path}: it is a symlink`, {
      cause: err,
      details: { path, code, reason: 'symlink' },
    });
  return new IpcError('UNAVAILABLE', `cannot ${what} ${path}: ${code ?? (err as Error).message}`, {
    cause: err,
    details: { path, code },
  });
}

/**
 * Creates `dir` (folder mode) if missing, checks that it may be trusted and that this process
 * may read, write and enter it. An existing folder keeps its mode.
 * @throws IpcError AUTH (see the module comment), UNAVAILABLE (no permission, not a folder).
 */
export async function prepareChannelDir(
  dir: string,
  access: ChannelAccess = OWNER_ONLY_ACCESS,
): Promise<void> {
  try {
    const absolute = resolve(dir);
    const created = await fs.mkdir(absolute, { recursive: true, mode: DIR_MODE });
    // Every folder just made, from `dir` up to the first one created, gets the folder mode.
    for (let folder = absolute; created !== undefined; folder = dirname(folder)) {
      await fs.chmod(folder, access.folderMode);
      if (folder === created || folder === dirname(folder)) break;
    }
  } catch (err) {
    throw fsError(err, 'create the channel directory', dir);
  }
  checkPrivateFolder(dir, access, 'the channel folder', access.folderMode);
  try {
    await fs.access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw fsError(err, 'use the channel directory', dir);
  }
}

/**
 * Creates the folders from `root` (a prepared channel folder) down to `path`, each with the
 * folder mode, and checks that none of them is a symlink.
 * @throws IpcError AUTH (a symlink), UNAVAILABLE.
 */
export async function ensureFolder(root: string, path: string, access: ChannelAccess): Promise<void> {
  let current = root;
  for (const part of relative(root, path).split(sep).filter(Boolean)) {
    current = join(current, part);
    try {
      await fs.mkdir(current, { mode: DIR_MODE });
      await fs.chmod(current, access.folderMode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'create', current);
    }
    const stat = await fs.lstat(current).catch((err: unknown) => {
      throw fsError(err, 'inspect', current);
    });
    if (stat.isSymbolicLink())
      throw new IpcError('AUTH', `refusing the channel folder ${current}: it is a symlink`, {
        details: { path: current, reason: 'symlink' },
      });
    if (!stat.isDirectory()) throw new IpcError('UNAVAILABLE', `${current} is not a directory`);
  }
}

/** Opens a new file of ours at `path` with exactly `mode`. Rejects EEXIST as fs does. */
export async function openNew(path: string, mode: number, flags = CREATE_NEW): Promise<fs.FileHandle> {
  const handle = await fs.open(path, flags, mode);
  try {
    await handle.chmod(mode);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}

/** Files up to this size are read and written synchronously (see the module comment). */
export const SYNC_IO_MAX = 256 * 1024;

/** Reads `path` as UTF-8 without following a symlink. Rejects as fs does (ELOOP for a symlink). */
export async function readText(path: string): Promise<string> {
  // O_NONBLOCK: opening a FIFO planted at the path returns at once (and is refused below).
  const fd = nodeFs.openSync(path, READ_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = nodeFs.fstatSync(fd);
    if (!stat.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
    if (stat.size <= SYNC_IO_MAX) return nodeFs.readFileSync(fd, 'utf8');
  } finally {
    nodeFs.closeSync(fd);
  }
  return fs.readFile(path, { encoding: 'utf8', flag: READ_NOFOLLOW });
}

/** openNew, synchronously: a descriptor of a new file of ours with exactly `mode`. Throws as fs does. */
export function openNewSync(path: string, mode: number): number {
  const fd = nodeFs.openSync(path, CREATE_NEW, mode);
  try {
    nodeFs.fchmodSync(fd, mode);
  } catch (err) {
    nodeFs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Creates the new file `path` (see openNew) holding `content`, synchronously. */
function writeNewSync(path: string, content: string | Uint8Array, mode: number): void {
  const fd = openNewSync(path, mode);
  try {
    nodeFs.writeFileSync(fd, content);
  } finally {
    nodeFs.closeSync(fd);
  }
}

/** Creates `path` with `content` unless something is there; never overwrites. */
export async function createIfMissing(path: string, content: string, mode = FILE_MODE): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await openNew(path, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw fsError(err, 'create', path);
  }
  try {
    await handle.writeFile(content);
  } catch (err) {
    throw fsError(err, 'write', path);
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` to `tmp`, a new file of ours (one left there is removed first), and renames it
 * over `path`: readers see the old or the new content.
 */
export async function replaceFile(
  path: string,
  tmp: string,
  content: string | Uint8Array,
  mode = FILE_MODE,
): Promise<void> {
  try {
    const length = typeof content === 'string' ? content.length * 3 : content.byteLength;
    if (length <= SYNC_IO_MAX) {
      for (let attempt = 0; ; attempt++) {
        try {
          writeNewSync(tmp, content, mode);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
          nodeFs.rmSync(tmp, { force: true });
        }
      }
    } else {
      let handle: fs.FileHandle | undefined;
      for (let attempt = 0; !handle; attempt++) {
        try {
          handle = await openNew(tmp, mode);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
          await fs.unlink(tmp).catch(() => {});
        }
      }
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
    }
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
