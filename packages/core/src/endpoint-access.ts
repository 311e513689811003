/**
 * Who may reach an endpoint that lives on the file system (a Unix or nng ipc socket, an rdma
 * control socket, a file-channel folder), and the checks every transport applies the same way:
 *
 * - Modes. What an endpoint creates is owner-only (sockets and files 0600, folders 0700)
 *   whatever the process umask; `socketMode` / `fileMode` widen it on purpose. A mode is an
 *   integer such as 0o660: owner read and write, no execute bits, no other bits.
 * - The folder an endpoint is created in. A socket in a folder another user can write (and
 *   that is not sticky) can be removed and replaced by that user, who then receives our
 *   clients' requests; so that folder must be owned by us or root and be either closed to
 *   group and others' writes or sticky (as /tmp is: there only a file's owner may remove it).
 * - A file channel's own folder, whose files steer what the backend runs: it must not be a
 *   symlink, must be owned by us and must not be writable by group or others; its parent
 *   follows the socket-folder rule.
 *
 * `sharedFolder: true` states that the folder is shared with other users on purpose and skips
 * the ownership and permission checks (never the symlink check). Refusals are IpcError AUTH
 * naming the path and the reason; `details.reason` is one of the FolderRefusal values.
 */
import { lstatSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { IpcError } from './errors.js';

/** Owner read and write: the default mode of every socket and file an endpoint creates. */
export const OWNER_ONLY_MODE = 0o600;

/** Options of endpoints created on the file system (see the module comment). */
export interface FolderAccessOptions {
  /**
   * The folder is shared with other users on purpose: accept one owned by another user or
   * writable by group or others. Default false.
   */
  sharedFolder?: boolean;
}

/** Options of a listening socket on the file system (unix, nng ipc, rdma control sockets). */
export interface SocketAccessOptions extends FolderAccessOptions {
  /** Mode of the socket file, e.g. 0o660 to let the group connect. Default 0o600 (owner only). */
  socketMode?: number;
}

/** Options of a file channel end (the files and folders it creates in the channel folder). */
export interface FileAccessOptions extends FolderAccessOptions {
  /**
   * Mode of the files this end creates; folders get the same bits plus search where read is
   * granted (0o660 → folders 0o770). Default 0o600 (folders 0o700).
   */
  fileMode?: number;
}

/** Why a folder was refused (`details.reason` of the AUTH error). */
export type FolderRefusal = 'symlink' | 'not-owner' | 'writable-by-others';

/**
 * The mode given as option `name`, or 0o600 when unset.
 * @throws IpcError INVALID_ARGUMENT unless an integer with owner read and write and no bits
 *   beyond read and write (a decimal 660 instead of 0o660 is caught here).
 */
export function accessMode(value: unknown, name: 'socketMode' | 'fileMode'): number {
  if (value === undefined) return OWNER_ONLY_MODE;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    (value & ~0o666) !== 0 ||
    (value & OWNER_ONLY_MODE) !== OWNER_ONLY_MODE
  ) {
    const shown = typeof value === 'number' ? `${value} (0o${value.toString(8)})` : JSON.stringify(value);
    throw new IpcError(
      'INVALID_ARGUMENT',
      `${name} must be a mode such as 0o600 or 0o660 (owner read and write, no execute or other bits): got ${shown}`,
      { details: { option: name, value } },
    );
  }
  return value;
}

/**
 * The `sharedFolder` option as a boolean (false when unset).
 * @throws IpcError INVALID_ARGUMENT for anything but a boolean.
 */
export function sharedFolderOption(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new IpcError(
      'INVALID_ARGUMENT',
      `sharedFolder must be true or false: got ${JSON.stringify(value)}`,
      {
        details: { option: 'sharedFolder', value },
      },
    );
  return value;
}

/** The folder mode that goes with file mode `fileMode`: search wherever read is granted. */
export const folderModeFor = (fileMode: number): number => fileMode | ((fileMode & 0o444) >> 2);

const refusal = (path: string, what: string, reason: FolderRefusal, why: string, stat?: Stats) =>
  new IpcError(
    'AUTH',
    `refusing ${what} ${path}: ${why}; pass sharedFolder: true if it is shared on purpose`,
    { details: { path, reason, ...(stat ? { uid: stat.uid, mode: stat.mode & 0o7777 } : {}) } },
  );

const currentUid = (): number | undefined => process.getuid?.();

/**
 * Checks the folder that will hold the socket `socketPath`: owned by us or root, and not
 * writable by group or others unless sticky. A missing folder is left to bind() to report.
 * @throws IpcError AUTH (details.reason 'not-owner' or 'writable-by-others').
 */
export function checkSocketFolder(socketPath: string, options: FolderAccessOptions = {}): void {
  if (sharedFolderOption(options.sharedFolder)) return;
  checkHolderFolder(dirname(resolve(socketPath)), 'the socket folder');
}

function checkHolderFolder(folder: string, what: string): void {
  const uid = currentUid();
  if (uid === undefined) return; // no uids on this platform
  let stat: Stats;
  try {
    stat = statSync(folder);
  } catch {
    return; // missing or unreadable: creating the endpoint fails with its own error
  }
  if (stat.uid !== uid && stat.uid !== 0)
    throw refusal(
      folder,
      what,
      'not-owner',
      `it is owned by uid ${stat.uid}, not by us (uid ${uid}) or root`,
      stat,
    );
  if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0)
    throw refusal(
      folder,
      what,
      'writable-by-others',
      `it is writable by ${stat.mode & 0o002 ? 'others' : 'its group'} (mode 0o${(stat.mode & 0o7777).toString(8)}) and not sticky, so our endpoint could be replaced`,
      stat,
    );
}

/**
 * Checks a folder this process keeps private data in (a file channel folder): not a symlink,
 * owned by us, not writable by group or others beyond what `grantedMode` (the mode we would
 * create it with: 0o700 unless widened on purpose) grants; its parent as
 * {@link checkSocketFolder}. Only the symlink check applies with `sharedFolder`.
 * @throws IpcError AUTH (details.reason: a FolderRefusal); UNAVAILABLE when it is not a folder.
 */
export function checkPrivateFolder(
  folder: string,
  options: FolderAccessOptions = {},
  what = 'the folder',
  grantedMode = 0o700,
): void {
  const shared = sharedFolderOption(options.sharedFolder);
  let stat: Stats;
  try {
    stat = lstatSync(folder);
  } catch (err) {
    throw new IpcError(
      'UNAVAILABLE',
      `cannot inspect ${what} ${folder}: ${(err as NodeJS.ErrnoException).code}`,
      {
        cause: err,
        details: { path: folder },
      },
    );
  }
  if (stat.isSymbolicLink())
    throw new IpcError(
      'AUTH',
      `refusing ${what} ${folder}: it is a symlink (whoever made it chooses where our files go); give the real path`,
      { details: { path: folder, reason: 'symlink' satisfies FolderRefusal } },
    );
  if (!stat.isDirectory())
    throw new IpcError('UNAVAILABLE', `${folder} is not a directory`, { details: { path: folder } });
  const uid = currentUid();
  if (shared || uid === undefined) return;
  if (stat.uid !== uid)
    throw refusal(folder, what, 'not-owner', `it is owned by uid ${stat.uid}, not by us (uid ${uid})`, stat);
  const extraWrites = stat.mode & 0o022 & ~grantedMode;
  if (extraWrites !== 0)
    throw refusal(
      folder,
      what,
      'writable-by-others',
      `it is writable by ${extraWrites & 0o002 ? 'others' : 'its group'} (mode 0o${(stat.mode & 0o7777).toString(8)})`,
      stat,
    );
  checkHolderFolder(dirname(resolve(folder)), `the parent of ${what}`);
}
