/**
 * The folder and mode rules every file-system endpoint applies (endpoint-access.ts). Folders
 * owned by another user are made with chown, so this file runs as root (as the test suite does).
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  accessMode,
  checkPrivateFolder,
  checkSocketFolder,
  folderModeFor,
  IpcError,
  sharedFolderOption,
} from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';

const NOBODY = 65534;
const base = mkdtempSync(join(tmpdir(), 'oc-access-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let count = 0;
/** A fresh folder under `base` with `mode` (set by chmod, whatever the umask) and owner `uid`. */
function folder(mode: number, uid?: number): string {
  const path = join(base, `f${count++}`);
  mkdirSync(path);
  chmodSync(path, mode);
  if (uid !== undefined) chownSync(path, uid, uid);
  return path;
}

const thrown = (fn: () => unknown): IpcError => {
  try {
    fn();
  } catch (err) {
    return err as IpcError;
  }
  throw new Error('did not throw');
};

describe('accessMode', () => {
  it('is 0o600 when unset and keeps a mode with owner read and write', () => {
    expect(accessMode(undefined, 'socketMode')).toBe(0o600);
    expect(accessMode(0o660, 'socketMode')).toBe(0o660);
    expect(accessMode(0o666, 'fileMode')).toBe(0o666);
  });

  it.each([
    ['decimal 660', 660],
    ['the string "0660"', '0660'],
    ['execute bits (0o755)', 0o755],
    ['no owner write (0o400)', 0o400],
    ['setuid (0o4600)', 0o4600],
    ['a fraction', 0o600 + 0.5],
  ])('refuses %s with INVALID_ARGUMENT naming the option', (_name, value) => {
    const err = thrown(() => accessMode(value, 'socketMode'));
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^socketMode must be a mode such as 0o600/);
  });

  it('folders get search where read is granted (0o600 → 0o700, 0o660 → 0o770, 0o666 → 0o777)', () => {
    expect(folderModeFor(0o600)).toBe(0o700);
    expect(folderModeFor(0o660)).toBe(0o770);
    expect(folderModeFor(0o666)).toBe(0o777);
  });
});

describe('sharedFolderOption', () => {
  it('is false when unset, and refuses anything but a boolean with INVALID_ARGUMENT', () => {
    expect(sharedFolderOption(undefined)).toBe(false);
    expect(sharedFolderOption(true)).toBe(true);
    expect(thrown(() => sharedFolderOption('yes')).code).toBe('INVALID_ARGUMENT');
  });
});

describe('checkSocketFolder: the folder a socket is created in', () => {
  it('accepts a folder of ours closed to others, and the sticky world-writable /tmp', () => {
    expect(() => checkSocketFolder(join(folder(0o755), 's.sock'))).not.toThrow();
    expect(() => checkSocketFolder(join(folder(0o1777), 's.sock'))).not.toThrow();
    expect(() => checkSocketFolder('/tmp/openclaw-gateway.ipc')).not.toThrow();
  });

  it('refuses a folder others can write that is not sticky: AUTH writable-by-others naming it', () => {
    const dir = folder(0o777);
    const err = thrown(() => checkSocketFolder(join(dir, 's.sock')));
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(dir);
    expect(err.message).toMatch(/writable by others .* not sticky/);
    expect(err.details).toMatchObject({ path: dir, reason: 'writable-by-others' });
  });

  it('refuses a group-writable folder that is not sticky', () => {
    const err = thrown(() => checkSocketFolder(join(folder(0o770), 's.sock')));
    expect(err.details).toMatchObject({ reason: 'writable-by-others' });
  });

  it('refuses a folder owned by another user (nobody), even sticky: AUTH not-owner', () => {
    const err = thrown(() => checkSocketFolder(join(folder(0o1777, NOBODY), 's.sock')));
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ reason: 'not-owner', uid: NOBODY });
  });

  it('accepts either with sharedFolder: true', () => {
    expect(() => checkSocketFolder(join(folder(0o777), 's.sock'), { sharedFolder: true })).not.toThrow();
    expect(() =>
      checkSocketFolder(join(folder(0o755, NOBODY), 's.sock'), { sharedFolder: true }),
    ).not.toThrow();
  });

  it('leaves a missing folder to bind() to report', () => {
    expect(() => checkSocketFolder(join(base, 'missing', 's.sock'))).not.toThrow();
  });
});

describe('checkPrivateFolder: a folder of our own (file channel)', () => {
  it('accepts a folder of ours with mode 0o700 or 0o755 in a safe parent', () => {
    expect(() => checkPrivateFolder(folder(0o700))).not.toThrow();
    expect(() => checkPrivateFolder(folder(0o755))).not.toThrow();
  });

  it('refuses a symlink, even with sharedFolder: AUTH symlink', () => {
    const target = folder(0o700);
    const link = join(base, `link${count++}`);
    symlinkSync(target, link);
    for (const options of [{}, { sharedFolder: true }]) {
      const err = thrown(() => checkPrivateFolder(link, options));
      expect(err.code).toBe('AUTH');
      expect(err.details).toMatchObject({ path: link, reason: 'symlink' });
    }
  });

  it('refuses a folder owned by nobody and one writable by group or others', () => {
    expect(thrown(() => checkPrivateFolder(folder(0o700, NOBODY))).details).toMatchObject({
      reason: 'not-owner',
    });
    expect(thrown(() => checkPrivateFolder(folder(0o777))).details).toMatchObject({
      reason: 'writable-by-others',
    });
    expect(thrown(() => checkPrivateFolder(folder(0o770))).details).toMatchObject({
      reason: 'writable-by-others',
    });
  });

  it('refuses a folder whose parent others can write (not sticky): the folder could be swapped', () => {
    const parent = folder(0o777);
    const dir = join(parent, 'chan');
    mkdirSync(dir, { mode: 0o700 });
    const err = thrown(() => checkPrivateFolder(dir));
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ path: parent, reason: 'writable-by-others' });
  });

  it('accepts a folder of nobody, mode 0o777, with sharedFolder: true', () => {
    expect(() => checkPrivateFolder(folder(0o777, NOBODY), { sharedFolder: true })).not.toThrow();
  });
});
