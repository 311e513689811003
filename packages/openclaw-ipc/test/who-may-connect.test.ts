/**
 * Who may connect, end to end through listen(url): every endpoint on the file system is
 * owner-only under umask 000, and another user cannot reach it; the widening option lets that
 * user in. The other user is nobody (uid 65534): a child process started with that uid runs a
 * small script from the OS temp folder. The folders holding the endpoints are 0755 so that only
 * the endpoint's own mode decides. This file runs as root, as the test suite does.
 */
import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listen } from '../src/index.js';

const NOBODY = 65534;

const probe = join(tmpdir(), `oc-who-may-connect-${process.pid}.cjs`);
writeFileSync(
  probe,
  `const [kind, target, file] = process.argv.slice(2);
const say = (x) => process.stdout.write(x + '\\n');
if (kind === 'socket') {
  const s = require('node:net').connect(target);
  s.on('connect', () => { say('connected'); s.destroy(); });
  s.on('error', (e) => say(e.code));
} else {
  const fs = require('node:fs');
  try { fs.readdirSync(target); say('listed'); } catch (e) { say(e.code); }
  try { fs.appendFileSync(require('node:path').join(target, file), ''); say('opened'); } catch (e) { say(e.code); }
}
`,
);
chmodSync(probe, 0o644);

const folders: string[] = [];
afterAll(() => {
  unlinkSync(probe);
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A folder under the OS temp folder that nobody may enter (0755), removed after the file. */
function openFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oc-who-'));
  chmodSync(dir, 0o755);
  folders.push(dir);
  return dir;
}

/** What nobody's attempt printed: 'connected' or an errno code; for folders two lines. */
function asNobody(...args: string[]): Promise<string[]> {
  if (process.getuid?.() !== 0) throw new Error('this test switches to uid 65534 and must run as root');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [probe, ...args], {
      uid: NOBODY,
      gid: NOBODY,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim().split('\n')));
  });
}

const mode = (path: string) => lstatSync(path).mode & 0o777;

let umask: number;
beforeEach(() => {
  umask = process.umask(0);
});
afterEach(() => {
  process.umask(umask);
});

const sockets = [
  { scheme: 'unix', extra: [] as string[] },
  { scheme: 'nng+ipc', extra: [] },
  { scheme: 'rdma+shm', extra: ['.shm'] },
  { scheme: 'rdma+cma', extra: [] },
];

describe.each(sockets)('$scheme under umask 000', ({ scheme, extra }) => {
  it('the socket is 0600 and nobody cannot connect (EACCES)', async () => {
    const path = join(openFolder(), 'endpoint.sock');
    const server = await listen(`${scheme}://${path}`);
    try {
      for (const socket of [path, ...extra.map((suffix) => path + suffix)]) {
        expect({ socket, mode: mode(socket) }).toEqual({ socket, mode: 0o600 });
        expect(await asNobody('socket', socket)).toEqual(['EACCES']);
      }
    } finally {
      await server.close();
    }
  });

  it('with socketMode 0o666 nobody can connect', async () => {
    const path = join(openFolder(), 'wide.sock');
    const server = await listen(`${scheme}://${path}`, { socketMode: 0o666 });
    try {
      expect(mode(path)).toBe(0o666);
      expect(await asNobody('socket', path)).toEqual(['connected']);
    } finally {
      await server.close();
    }
  });
});

describe.each(['ipckit', 'journal'])('file channel (%s) under umask 000', (channelMode) => {
  // A file the backend has created: the inbox, or its journal reader's cursor.
  const inboxFile =
    channelMode === 'ipckit'
      ? 'frontend_to_backend.json'
      : join('journal', 'frontend_to_backend', 'cursors', 'backend.json');

  it('the folder is 0700 and its files 0600: nobody gets EACCES listing it and opening its inbox', async () => {
    const dir = join(openFolder(), 'chan');
    const server = await listen(`file://${dir}?role=backend&mode=${channelMode}`);
    try {
      expect(mode(dir)).toBe(0o700);
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        expect({ path, mode: mode(path) }).toEqual({
          path,
          mode: lstatSync(path).isDirectory() ? 0o700 : 0o600,
        });
      }
      expect(await asNobody('folder', dir, inboxFile)).toEqual(['EACCES', 'EACCES']);
    } finally {
      await server.close();
    }
  });

  it('with fileMode 0o666 nobody can list the folder and open its inbox', async () => {
    const dir = join(openFolder(), 'chan');
    const server = await listen(`file://${dir}?role=backend&mode=${channelMode}`, { fileMode: 0o666 });
    try {
      expect(mode(dir)).toBe(0o777);
      expect(mode(join(dir, inboxFile))).toBe(0o666);
      expect(await asNobody('folder', dir, inboxFile)).toEqual(['listed', 'opened']);
    } finally {
      await server.close();
    }
  });
});
