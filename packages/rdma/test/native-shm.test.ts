/**
 * The shm provider of the native addon across two real processes: the owner (a child process,
 * fixtures/native-owner.ts) serves its table and arena memfds on an addon-owned Unix socket;
 * this process maps them and reads through the checked-slot protocol.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { IpcError } from '@openclaw-ipc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_READ, ACCESS_WRITE, COPY_CRC, loadNative, type ShmPeer, toIpcError } from '../src/native.js';
import { OwnerProcess, tempDir } from './fixtures/native-child.js';
import { pattern } from './fixtures/native-pattern.js';

const addon = loadNative();
const dir = tempDir('oc-rdma-shm-');
let owner: OwnerProcess;
let peer: ShmPeer;
const path = dir.path('owner.sock.shm');

beforeAll(async () => {
  owner = await OwnerProcess.start();
  await owner.call('serve', { path });
  peer = await addon.shmAttach(path);
});
afterAll(async () => {
  peer?.close();
  await owner?.kill();
  dir.remove();
});

async function failure(op: Promise<unknown> | (() => unknown)): Promise<IpcError> {
  try {
    await (typeof op === 'function' ? op() : op);
  } catch (err) {
    return toIpcError(err);
  }
  throw new Error('expected a failure');
}

const reason = (e: IpcError) => (e.details as { reason: string }).reason;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('shm: one-sided reads of another process’ arenas', () => {
  it('maps the table and arenas and reads the right bytes (inline, thread pool, with CRC)', async () => {
    expect(peer.pid).toBe(owner.pid);
    for (const size of [1, 5000, 100_003, 2 << 20]) {
      const r = await owner.register(`a${size}`, size, size, { arena: true });
      expect(r.arenaId).toBeGreaterThan(0);
      const into = new Uint8Array(size + 3);
      await expect(peer.read(r.key, r.addr, size, into, 3)).resolves.toBe(size);
      expect(same(into.subarray(3), pattern(size, size))).toBe(true);
      // Copy and CRC in one pass: both the bytes and the checksum are right, at any alignment.
      const withCrc = new Uint8Array(size + 5);
      const crc = await peer.read(r.key, r.addr, size, withCrc, 5, COPY_CRC);
      expect(crc).toBe(addon.crc32c(pattern(size, size)));
      expect(same(withCrc.subarray(5), pattern(size, size))).toBe(true);
    }
  });

  it('fetches an arena once for many reads waiting on it', async () => {
    const r = await owner.register('many', 4096, 21, { arena: true });
    const reads = Array.from({ length: 50 }, (_, i) => {
      const into = new Uint8Array(16);
      return peer.read(r.key, r.addr + BigInt(i * 16), 16, into, 0).then(() => into);
    });
    const got = await Promise.all(reads);
    const expected = pattern(4096, 21);
    got.forEach((into, i) => {
      expect(same(into, expected.subarray(i * 16, i * 16 + 16))).toBe(true);
    });
  });

  it('refuses wrong keys, ranges outside, expired, closed and non-arena registrations', async () => {
    const r = await owner.register('checks', 1000, 4, { arena: true });
    const into = new Uint8Array(2000);
    let e = await failure(peer.read((r.key ^ 0x40000000) >>> 0, r.addr, 10, into, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EKEY']);
    for (const [addr, len] of [
      [r.addr - 1n, 10],
      [r.addr, 1001],
      [r.addr + 1000n, 1],
      [r.addr + (1n << 60n), 1],
    ] as const) {
      e = await failure(peer.read(r.key, addr, len, into, 0));
      expect([e.code, reason(e)]).toEqual(['INVALID_ARGUMENT', 'ERANGE']);
    }
    const old = await owner.register('old', 100, 4, { arena: true, expired: true });
    e = await failure(peer.read(old.key, old.addr, 100, into, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EEXPIRED']);
    const plain = await owner.register('plain', 100, 4);
    e = await failure(peer.read(plain.key, plain.addr, 100, into, 0));
    expect([e.code, reason(e)]).toEqual(['INVALID_ARGUMENT', 'ENOTSHM']);
    await owner.call('close', { name: 'checks' });
    e = await failure(peer.read(r.key, r.addr, 10, into, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EKEY']);
  });

  it('writes only into WRITE registrations', async () => {
    const ro = await owner.register('ro', 64, 1, { arena: true });
    const data = pattern(64, 77);
    const e = await failure(peer.write(ro.key, ro.addr, 64, data, 0));
    expect(reason(e)).toBe('EACCES');
    const rw = await owner.register('rw', 64, 1, { arena: true, access: ACCESS_READ | ACCESS_WRITE });
    await expect(peer.write(rw.key, rw.addr, 64, data, 0)).resolves.toBe(64);
    expect(await owner.call('crc', { name: 'rw' })).toBe(addon.crc32c(data));
    const wo = await owner.register('wo', 64, 1, { arena: true, access: ACCESS_WRITE });
    expect(reason(await failure(peer.read(wo.key, wo.addr, 64, new Uint8Array(64), 0)))).toBe('EACCES');
  });

  it('stops reading an arena its owner closed, and serves newer arenas', async () => {
    const r = await owner.register('doomed', 128, 5, { arena: true });
    await expect(peer.read(r.key, r.addr, 128, new Uint8Array(128), 0)).resolves.toBe(128);
    await owner.call('closeArenas');
    const e = await failure(peer.read(r.key, r.addr, 128, new Uint8Array(128), 0));
    expect(reason(e)).toBe('EKEY');
    const next = await owner.register('next', 128, 6, { arena: true });
    const into = new Uint8Array(128);
    await peer.read(next.key, next.addr, 128, into, 0);
    expect(same(into, pattern(128, 6))).toBe(true);
  });

  it('evicts idle arena mappings beyond maxArenas and maps them again on use', async () => {
    const small = await addon.shmAttach(path, 2);
    const regions = [];
    for (let i = 0; i < 5; i++) regions.push(await owner.register(`ev${i}`, 256, 30 + i, { arena: true }));
    for (let round = 0; round < 2; round++) {
      for (const [i, r] of regions.entries()) {
        const into = new Uint8Array(256);
        await small.read(r.key, r.addr, 256, into, 0);
        expect(same(into, pattern(256, 30 + i))).toBe(true);
      }
    }
    small.close();
    expect(reason(await failure(small.read(regions[0].key, regions[0].addr, 1, new Uint8Array(1), 0)))).toBe(
      'ECLOSED',
    );
  });
});

describe('shm: the fd socket', () => {
  it('is mode 0600, replaces a stale socket, refuses a live one, and is unlinked on close', async () => {
    const p = dir.path('mine.shm');
    const first = addon.shmServe(p);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const e = await failure(() => addon.shmServe(p));
    expect(e.message).toContain('in use');
    first.close();
    first.close();
    expect(existsSync(p)).toBe(false);
    // A socket file nobody listens on (a crashed server) is replaced.
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(p, resolve));
    await new Promise<void>((resolve) => stale.close(() => resolve()));
    const stalePath = createServer();
    await new Promise<void>((resolve) => stalePath.listen(dir.path('x.sock'), resolve));
    stalePath.close();
    const second = addon.shmServe(p);
    expect(existsSync(p)).toBe(true);
    second.close();
    const e2 = await failure(addon.shmAttach(dir.path('nobody-here.shm')));
    expect(e2.code).toBe('CLOSED');
  });

  it('serves at most maxConnections clients at once', async () => {
    const p = dir.path('cap.shm');
    const server = addon.shmServe(p, 2);
    const a = await addon.shmAttach(p);
    const b = await addon.shmAttach(p);
    const e = await failure(addon.shmAttach(p));
    expect(e.code).toBe('CLOSED');
    a.close();
    // The server frees the place once it has seen the hang-up: try until it has.
    let c: ShmPeer | undefined;
    for (let i = 0; i < 200 && !c; i++) {
      c = await addon.shmAttach(p).catch(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return undefined;
      });
    }
    if (!c) throw new Error('the server never freed the connection');
    b.close();
    c.close();
    server.close();
  });

  it('refuses a client of another uid (SO_PEERCRED), even when the socket mode would let it in', async () => {
    const p = dir.path('uid.shm');
    const server = addon.shmServe(p);
    const canSwitch =
      process.getuid?.() === 0 &&
      spawnSync(process.execPath, ['-e', ''], { uid: 65534, gid: 65534, stdio: 'ignore' }).status === 0;
    if (!canSwitch) {
      // Only root can start a process of another uid (and that uid must be able to run node);
      // otherwise check what keeps others out: the socket's mode.
      expect(statSync(p).mode & 0o077).toBe(0);
      server.close();
      return;
    }
    chmodSync(dir.path(''), 0o755);
    chmodSync(p, 0o666);
    // A plain Node client running as nobody sends a valid GET_TABLE request.
    const script = `
      const s = require('net').createConnection(${JSON.stringify(p)});
      let got = 0, connected = false;
      s.on('connect', () => connected = true);
      s.on('connect', () => s.write(Buffer.from([0x4f,0x43,0x53,0x48, 1,0, 1,0, 0,0,0,0, 0,0,0,0])));
      s.on('data', (d) => { got += d.length; });
      s.on('error', () => {});
      s.on('close', () => { console.log(JSON.stringify({ connected, got })); });`;
    const child = spawn(process.execPath, ['-e', script], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    await new Promise((resolve) => child.once('exit', resolve));
    // It got in (mode 0666) but the server hung up on it without a byte: SO_PEERCRED said uid 65534.
    expect(JSON.parse(out)).toEqual({ connected: true, got: 0 });
    server.close();
  });
});

describe('shm: the peer dies mid-transfer', () => {
  it('settles every copy, calls onclose with ESRCH, and fails later reads with CLOSED', async () => {
    const victim = await OwnerProcess.start();
    const p = dir.path('victim.shm');
    await victim.call('serve', { path: p });
    const vp = await addon.shmAttach(p, 16, 1);
    const closed = new Promise<unknown>((resolve) => {
      vp.onclose = resolve;
    });
    const size = 8 << 20;
    const r = await victim.register('big', size, 13, { arena: true });
    const expected = addon.crc32c(pattern(size, 13));
    expect(await vp.read(r.key, r.addr, size, new Uint8Array(size), 0, COPY_CRC)).toBe(expected);
    const copies = Array.from({ length: 6 }, () =>
      vp.read(r.key, r.addr, size, new Uint8Array(size), 0, COPY_CRC).then(
        (crc) => ({ crc }),
        (err: unknown) => ({ err: toIpcError(err) }),
      ),
    );
    await victim.kill();
    for (const outcome of await Promise.all(copies)) {
      if ('crc' in outcome) expect(outcome.crc).toBe(expected);
      else expect(outcome.err.code).toBe('CLOSED');
    }
    const why = toIpcError(await closed);
    expect([why.code, reason(why)]).toEqual(['CLOSED', 'ESRCH']);
    const e = await failure(vp.read(r.key, r.addr, 10, new Uint8Array(10), 0));
    expect([e.code, reason(e)]).toEqual(['CLOSED', 'ESRCH']);
    vp.close();
  });
});
