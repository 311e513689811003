/**
 * Who may reach a file channel: its folder is refused (AUTH) when it is a symlink, another
 * user's, or writable by group or others, unless `sharedFolder` says so; what an end creates is
 * owner-only whatever the umask (`fileMode` widens it); files are never opened through symlinks.
 * Runs as root (a folder of another user is made with chown).
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { IpcError, request } from '@openclaw-ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acquireIpckitLock,
  FileChannel,
  type FileChannelMode,
  JournalLink,
  serializeChannelFile,
  toIpckit,
} from '../src/index.js';
import { tempDir, until } from './helpers.js';

const NOBODY = 65534;
const modes: FileChannelMode[] = ['ipckit', 'journal'];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function dirFor(): string {
  const { dir, cleanup } = tempDir('oc-file-access-');
  cleanups.push(cleanup);
  return dir;
}

function withUmask(mask: number): void {
  const previous = process.umask(mask);
  cleanups.push(() => process.umask(previous));
}

/** Every entry under `dir` with its type and permission bits. */
function walk(dir: string, out: Array<{ path: string; dir: boolean; mode: number }> = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    out.push({ path, dir: stat.isDirectory(), mode: stat.mode & 0o7777 });
    if (stat.isDirectory()) walk(path, out);
  }
  return out;
}

/** A backend answering echo and a frontend that made one request; both closed after the test. */
async function exchange(dir: string, mode: FileChannelMode, options: Record<string, unknown> = {}) {
  const server = await FileChannel.backend(dir, { mode, ...options, handlers: { echo: (p: unknown) => p } });
  cleanups.push(() => server.close());
  const client = await FileChannel.frontend(dir, { mode, ...options, client: { reconnect: false } });
  cleanups.push(() => client.close());
  expect(await client.request('echo', 'hi')).toBe('hi');
  return { server, client };
}

const refusal = (dir: string, mode: FileChannelMode, options: Record<string, unknown> = {}) =>
  FileChannel.backend(dir, { mode, ...options }).then(
    async (server) => {
      await server.close();
      throw new Error('the backend opened');
    },
    (e: unknown) => e as IpcError,
  );

describe.each(modes)('%s mode: what an end creates', (mode) => {
  it('under umask 000, every file is 0600 and every folder 0700 (files renamed from tmp, journal segments, cursors, owner records, writer locks)', async () => {
    withUmask(0);
    const dir = dirFor();
    await exchange(dir, mode);
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    const entries = walk(dir);
    expect(entries.length).toBeGreaterThanOrEqual(3);
    for (const e of entries)
      expect({ path: e.path, mode: e.mode }).toEqual({ path: e.path, mode: e.dir ? 0o700 : 0o600 });
    if (mode === 'journal') expect(entries.some((e) => e.path.endsWith('.lock') && e.dir)).toBe(true);
  });

  it('with fileMode 0o660 under umask 022: files 0660, folders 0770 (journal writer lock folders stay 0700)', async () => {
    withUmask(0o022);
    const dir = dirFor();
    await exchange(dir, mode, { fileMode: 0o660 });
    expect(lstatSync(dir).mode & 0o777).toBe(0o770);
    // The backend may still hold its ipckit lock file (a file: 0660) when the response is read.
    for (const e of walk(dir)) {
      const expected = e.dir ? (e.path.endsWith('.lock') ? 0o700 : 0o770) : 0o660;
      expect({ path: e.path, mode: e.mode }).toEqual({ path: e.path, mode: expected });
    }
  });

  it('refuses a misspelt fileMode or sharedFolder with INVALID_ARGUMENT', async () => {
    expect((await refusal(dirFor(), mode, { fileMode: 660 })).code).toBe('INVALID_ARGUMENT');
    expect((await refusal(dirFor(), mode, { sharedFolder: 'yes' })).code).toBe('INVALID_ARGUMENT');
  });
});

describe.each(modes)('%s mode: folders that are refused', (mode) => {
  it('a folder made beforehand by nobody with mode 0777: AUTH naming it, nothing written', async () => {
    const dir = dirFor();
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    chownSync(dir, NOBODY, NOBODY);
    const err = await refusal(dir, mode);
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(dir);
    expect(err.details).toMatchObject({ path: dir, reason: 'not-owner', uid: NOBODY });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a folder of ours writable by group or others: AUTH writable-by-others', async () => {
    for (const bits of [0o777, 0o770]) {
      const dir = dirFor();
      mkdirSync(dir);
      chmodSync(dir, bits);
      expect((await refusal(dir, mode)).details).toMatchObject({ reason: 'writable-by-others' });
    }
  });

  it('a folder that is a symlink to elsewhere: AUTH symlink, even with sharedFolder', async () => {
    const elsewhere = dirFor();
    mkdirSync(elsewhere, { mode: 0o700 });
    const dir = `${dirFor()}-link`;
    symlinkSync(elsewhere, dir);
    cleanups.push(() => unlinkSync(dir));
    for (const options of [{}, { sharedFolder: true }]) {
      const err = await refusal(dir, mode, options);
      expect(err.code).toBe('AUTH');
      expect(err.details).toMatchObject({ path: dir, reason: 'symlink' });
    }
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a folder of nobody with mode 0777 is used with sharedFolder: true', async () => {
    const dir = dirFor();
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    chownSync(dir, NOBODY, NOBODY);
    await exchange(dir, mode, { sharedFolder: true });
  });
});

describe('symlinks inside the channel folder are not followed', () => {
  it('ipckit: an inbox replaced by a symlink to a file of requests is not read (AUTH reported)', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const ran: unknown[] = [];
    const server = await FileChannel.backend(dir, {
      onError: (e) => errors.push(e),
      handlers: { echo: (p: unknown) => ran.push(p) },
    });
    cleanups.push(() => server.close());
    const planted = `${dir}-requests.json`;
    writeFileSync(planted, serializeChannelFile([toIpckit(request('echo', 'planted'), Date.now())]));
    cleanups.push(() => unlinkSync(planted));
    const inbox = join(dir, 'frontend_to_backend.json');
    unlinkSync(inbox);
    symlinkSync(planted, inbox);
    await until(() => errors.some((e) => e.code === 'AUTH'), 5000, 'the AUTH report');
    expect(errors.find((e) => e.code === 'AUTH')!.message).toContain(inbox);
    expect(ran).toEqual([]);
  });

  it('ipckit: a symlink planted at the tmp path does not redirect the write', async () => {
    const dir = dirFor();
    const victim = `${dir}-victim`;
    writeFileSync(victim, 'precious');
    cleanups.push(() => unlinkSync(victim));
    const server = await FileChannel.backend(dir, { handlers: { echo: (p: unknown) => p } });
    cleanups.push(() => server.close());
    symlinkSync(victim, join(dir, 'backend_to_frontend.tmp'));
    const client = await FileChannel.frontend(dir, { client: { reconnect: false } });
    cleanups.push(() => client.close());
    expect(await client.request('echo', 'answered')).toBe('answered');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(join(dir, 'backend_to_frontend.json')).isFile()).toBe(true);
  });

  it('journal: a journal folder planted as a symlink is refused with AUTH', async () => {
    const dir = dirFor();
    mkdirSync(dir, { mode: 0o700 });
    const elsewhere = `${dir}-elsewhere`;
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, join(dir, 'journal'));
    const err = await JournalLink.open(dir, 'backend').then(
      () => {
        throw new Error('opened');
      },
      (e: unknown) => e as IpcError,
    );
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ path: join(dir, 'journal'), reason: 'symlink' });
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('the ipckit writer lock is created 0600 under umask 000 and not through a symlink', async () => {
    withUmask(0);
    const dir = dirFor();
    mkdirSync(dir, { mode: 0o700 });
    const held = await acquireIpckitLock(join(dir, 'x.lock'));
    expect(lstatSync(join(dir, 'x.lock')).mode & 0o777).toBe(0o600);
    await held.release();
  });
});
