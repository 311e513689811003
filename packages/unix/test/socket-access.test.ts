/**
 * Who may connect to a unix listener: the socket is 0600 whatever the umask (socketMode widens
 * it), and it is never created in a folder where another user could replace it. Runs as root
 * (a folder of another user is made with chown).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { IpcError } from '@openclaw-ipc/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnixListener } from '../src/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-unix-access-');
afterAll(() => dir.remove());

let umask: number;
beforeEach(() => {
  umask = process.umask(0);
});
afterEach(() => {
  process.umask(umask);
});

let count = 0;
function folder(mode: number, uid?: number): string {
  const path = dir.path(`f${count++}`);
  mkdirSync(path);
  chmodSync(path, mode);
  if (uid !== undefined) chownSync(path, uid, uid);
  return path;
}

const listenError = (path: string, options = {}) =>
  UnixListener.listen(path, options).then(
    async (listener) => {
      await listener.close();
      throw new Error('listen succeeded');
    },
    (e: unknown) => e as IpcError,
  );

describe('unix listener access, under umask 000', () => {
  it('creates the socket 0600 and leaves no staging folder behind', async () => {
    const parent = folder(0o755);
    const path = `${parent}/a.sock`;
    const listener = await UnixListener.listen(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(parent)).toEqual(['a.sock']);
    await listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it('creates the socket 0600 when its folder name is too long for a staging folder', async () => {
    const outer = folder(0o755);
    const parent = `${outer}/${'d'.repeat(95 - outer.length)}`;
    mkdirSync(parent, { mode: 0o755 });
    const path = `${parent}/s.sock`; // 103 bytes: fits, but `${parent}/.oc-XXXXXX/s` does not
    expect(Buffer.byteLength(path)).toBe(103);
    const listener = await UnixListener.listen(path);
    expect(readdirSync(parent)).toEqual(['s.sock']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await listener.close();
  });

  it('gives the socket exactly socketMode 0o666 when asked', async () => {
    const path = `${folder(0o755)}/wide.sock`;
    const listener = await UnixListener.listen(path, { socketMode: 0o666 });
    expect(statSync(path).mode & 0o777).toBe(0o666);
    await listener.close();
  });

  it('refuses a misspelt socketMode (decimal 660) with INVALID_ARGUMENT', async () => {
    const err = await listenError(`${folder(0o755)}/bad.sock`, { socketMode: 660 });
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a folder others can write (0777, not sticky) with AUTH and creates nothing', async () => {
    const parent = folder(0o777);
    const err = await listenError(`${parent}/x.sock`);
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(parent);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuses a folder owned by nobody with AUTH', async () => {
    const err = await listenError(`${folder(0o755, 65534)}/x.sock`);
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ reason: 'not-owner' });
  });

  it('accepts a sticky world-writable folder of ours (as /tmp)', async () => {
    const path = `${folder(0o1777)}/sticky.sock`;
    const listener = await UnixListener.listen(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await listener.close();
  });

  it('accepts a folder others can write with sharedFolder: true', async () => {
    const path = `${folder(0o777)}/shared.sock`;
    const listener = await UnixListener.listen(path, { sharedFolder: true });
    expect(statSync(path).isSocket()).toBe(true);
    await listener.close();
  });
});
