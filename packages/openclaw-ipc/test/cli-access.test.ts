/**
 * `openclaw-ipc serve` and who may connect: the three ways in, tried through the command
 * line (a permissive umask, a channel folder made by another user, a foreign browser origin),
 * and the flags that widen access on purpose.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startServe, stop, tempDir } from './helpers.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function serve(url: string, extra: string[] = []) {
  const child = await startServe(url, extra);
  stops.push(() => stop(child));
  return child;
}

/** A WebSocket upgrade of `address` with `origin` (or none): 101 when served, else the HTTP status. */
function upgradeStatus(address: string, origin?: string): Promise<number> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...(origin ? { Origin: origin } : {}),
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve ws:// and browser origins', () => {
  it('without a token or flags: a foreign Origin is refused 403; no Origin and its own are served', async () => {
    const { address } = await serve('ws://127.0.0.1:0/');
    expect(await upgradeStatus(address, 'https://evil.example')).toBe(403);
    expect(await upgradeStatus(address)).toBe(101);
    expect(await upgradeStatus(address, `http://127.0.0.1:${new URL(address).port}`)).toBe(101);
  });

  it('--allow-origin (repeatable) serves the listed origins and still refuses others', async () => {
    const { address } = await serve('ws://127.0.0.1:0/', [
      '--allow-origin',
      'https://app.example',
      '--allow-origin',
      'https://two.example',
    ]);
    expect(await upgradeStatus(address, 'https://app.example')).toBe(101);
    expect(await upgradeStatus(address, 'https://two.example')).toBe(101);
    expect(await upgradeStatus(address, 'https://evil.example')).toBe(403);
  });
});

describe('serve and socket modes', () => {
  it('serve nng+ipc:// under umask 000 creates its socket 0600', async () => {
    const path = join(tempDir(), 'serve.ipc');
    const previous = process.umask(0); // the child inherits it
    try {
      await serve(`nng+ipc://${path}`);
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('--socket-mode 660 gives a unix socket mode 0660', async () => {
    const path = join(tempDir(), 'serve.sock');
    await serve(`unix://${path}`, ['--socket-mode', '660']);
    expect(statSync(path).mode & 0o777).toBe(0o660);
  });
});

describe('serve file:// and folders of other users', () => {
  function nobodysFolder(): string {
    const dir = join(tempDir(), 'chan');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    chownSync(dir, 65534, 65534);
    return dir;
  }

  it('refuses a channel folder made by nobody with mode 0777: exit 1, AUTH naming the folder', async () => {
    const dir = nobodysFolder();
    const r = await runCli(['serve', `file://${dir}?role=backend`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`AUTH: refusing the channel folder ${dir}`);
  });

  it('--shared-folder serves it', async () => {
    const dir = nobodysFolder();
    const child = await serve(`file://${dir}?role=backend`, ['--shared-folder']);
    expect(child.address).toContain(dir);
  });
});

describe('serve usage errors for access flags', () => {
  it.each([
    ['a mode that is not octal', ['unix:///tmp/oc-x.sock', '--socket-mode', '999']],
    ['--allow-origin on a unix socket', ['unix:///tmp/oc-x.sock', '--allow-origin', 'https://a.example']],
    ['--socket-mode on ws', ['ws://127.0.0.1:0/', '--socket-mode', '600']],
    ['--file-mode on a socket', ['unix:///tmp/oc-x.sock', '--file-mode', '600']],
  ])('%s exits 2', async (_name, args) => {
    const r = await runCli(['serve', ...args]);
    expect(r.code).toBe(2);
  });
});
