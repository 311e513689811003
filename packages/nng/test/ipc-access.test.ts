/**
 * Who may connect to an nng ipc:// listener: the socket file is 0600 whatever the umask (nng's
 * ipc:permissions, set before the listener starts; socketMode widens it), and it is never
 * created in a folder where another user could replace it. Runs as root (chown).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcError } from '@openclaw-ipc/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IpcTransport, listenNng, RepSocket, ReqSocket } from '../src/index.js';

const base = mkdtempSync(join(tmpdir(), 'oc-nng-access-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let umask: number;
beforeEach(() => {
  umask = process.umask(0);
});
afterEach(() => {
  process.umask(umask);
});

let count = 0;
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

describe('nng ipc:// listener access, under umask 000', () => {
  it('creates the socket 0600 by default, and a client of ours still gets its replies', async () => {
    const path = join(folder(0o755), 'rep.ipc');
    const rep = new RepSocket();
    rep.listen(`ipc://${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    rep.serve((data, reply) => reply(data));
    const req = new ReqSocket();
    await req.dial(`ipc://${path}`);
    expect((await req.request('hi', { timeout: 5000 })).toString()).toBe('hi');
    req.close();
    rep.close();
  });

  it('gives the socket exactly socketMode 0o660 when asked', () => {
    const path = join(folder(0o755), 'group.ipc');
    const rep = new RepSocket();
    rep.listen(`ipc://${path}`, { socketMode: 0o660 });
    expect(statSync(path).mode & 0o777).toBe(0o660);
    rep.close();
  });

  it('refuses a misspelt socketMode (decimal 600) with INVALID_ARGUMENT, on tcp:// too', () => {
    const rep = new RepSocket();
    const ipc = thrown(() => rep.listen(`ipc://${join(folder(0o755), 'bad.ipc')}`, { socketMode: 600 }));
    expect(ipc).toBeInstanceOf(IpcError);
    expect(ipc.code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => rep.listen('tcp://127.0.0.1:0', { socketMode: 600 })).code).toBe('INVALID_ARGUMENT');
    rep.close();
  });

  it('refuses a folder others can write (0777, not sticky) with AUTH before nng binds', () => {
    const parent = folder(0o777);
    const rep = new RepSocket();
    const err = thrown(() => rep.listen(`ipc://${join(parent, 'x.ipc')}`));
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain(parent);
    expect(existsSync(join(parent, 'x.ipc'))).toBe(false);
    rep.close();
  });

  it('refuses a folder owned by nobody with AUTH; sharedFolder: true accepts it', () => {
    const parent = folder(0o755, 65534);
    const rep = new RepSocket();
    expect(thrown(() => rep.listen(`ipc://${join(parent, 'x.ipc')}`)).details).toMatchObject({
      reason: 'not-owner',
    });
    rep.listen(`ipc://${join(parent, 'y.ipc')}`, { sharedFolder: true });
    expect(statSync(join(parent, 'y.ipc')).mode & 0o777).toBe(0o600);
    rep.close();
  });

  it('listenNng (nng+ipc:// URLs) and IpcTransport.server pass socketMode through', async () => {
    const dir = folder(0o755);
    const server = await listenNng(`nng+ipc://${join(dir, 'url.ipc')}`, { socketMode: 0o666 });
    expect(statSync(join(dir, 'url.ipc')).mode & 0o777).toBe(0o666);
    await server.close();
    const transport = await IpcTransport.server(`ipc://${join(dir, 'crate.ipc')}`);
    expect(statSync(join(dir, 'crate.ipc')).mode & 0o777).toBe(0o600);
    await transport.close();
  });
});
