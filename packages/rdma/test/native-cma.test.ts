/**
 * The cma provider of the native addon across two real processes: the owner (a child process,
 * fixtures/native-owner.ts) registers memory, this process reads and writes it with
 * process_vm_readv/writev through the checked-slot protocol.
 */
import { createConnection } from 'node:net';
import { IpcError } from '@openclaw-ipc/core';
import { SocketLink } from '@openclaw-ipc/unix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_READ, ACCESS_WRITE, type CmaPeer, COPY_CRC, loadNative, toIpcError } from '../src/native.js';
import { OwnerProcess, tempDir } from './fixtures/native-child.js';
import { pattern } from './fixtures/native-pattern.js';

const addon = loadNative();
let owner: OwnerProcess;
let peer: CmaPeer;
const dir = tempDir('oc-rdma-cma-');

beforeAll(async () => {
  owner = await OwnerProcess.start();
  const t = await owner.table();
  peer = addon.cmaPeer(owner.pid, t.addr);
});
afterAll(async () => {
  peer?.close();
  await owner?.kill();
  dir.remove();
});

/** The IpcError a failing promise or call ends with. */
async function failure(op: Promise<unknown> | (() => unknown)): Promise<IpcError> {
  try {
    await (typeof op === 'function' ? op() : op);
  } catch (err) {
    return toIpcError(err);
  }
  throw new Error('expected a failure');
}

const reason = (e: IpcError) => (e.details as { reason: string }).reason;

describe('cma: one-sided copies from another process', () => {
  it('reads registered memory with the right bytes (inline, thread pool, sync, with CRC)', async () => {
    for (const size of [1, 4096, 100_000, 3 << 20]) {
      const r = await owner.register(`r${size}`, size, size);
      const into = new Uint8Array(size + 8);
      await expect(peer.read(r.key, r.addr, size, into, 8)).resolves.toBe(size);
      expect(Buffer.from(into.subarray(8)).equals(Buffer.from(pattern(size, size)))).toBe(true);
      const crc = await peer.read(r.key, r.addr, size, new Uint8Array(size), 0, COPY_CRC);
      expect(crc).toBe(addon.crc32c(pattern(size, size)));
      const part = new Uint8Array(10);
      expect(
        peer.readSync(r.key, r.addr + BigInt(size > 10 ? size - 10 : 0), Math.min(10, size), part, 0),
      ).toBe(Math.min(10, size));
      expect(Array.from(part.subarray(0, Math.min(10, size)))).toEqual(
        Array.from(pattern(size, size).subarray(Math.max(0, size - 10))),
      );
    }
  });

  it('refuses a wrong key, a range outside the region, an expired or closed registration', async () => {
    const r = await owner.register('checks', 1000, 7);
    const into = new Uint8Array(2000);
    const wrongKey = (r.key ^ 0x40000000) >>> 0;
    let e = await failure(peer.read(wrongKey, r.addr, 10, into, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EKEY']);
    e = await failure(peer.read((r.key + 1) >>> 0, r.addr, 10, into, 0)); // another slot
    expect(e.code).toBe('AUTH');
    for (const [addr, len] of [
      [r.addr - 1n, 10],
      [r.addr, 1001],
      [r.addr + 999n, 2],
      [r.addr + 1000n, 1],
      [r.addr + (1n << 62n), 1],
    ] as const) {
      e = await failure(peer.read(r.key, addr, len, into, 0));
      expect([e.code, reason(e)]).toEqual(['INVALID_ARGUMENT', 'ERANGE']);
    }
    const old = await owner.register('expired', 100, 8, { expired: true });
    e = await failure(peer.read(old.key, old.addr, 100, into, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EEXPIRED']);
    await owner.call('close', { name: 'checks' });
    e = await failure(peer.read(r.key, r.addr, 10, into, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EKEY']);
    e = await failure(() => peer.readSync(r.key, r.addr, 10, into, 0));
    expect(reason(e)).toBe('EKEY');
    // A new registration in the same slot gets a different key: the old descriptor stays dead.
    const again = await owner.register('checks2', 1000, 9);
    expect(again.key).not.toBe(r.key);
    e = await failure(peer.read(r.key, again.addr, 10, into, 0));
    expect(reason(e)).toBe('EKEY');
  });

  it('rejects bad arguments locally with INVALID_ARGUMENT', async () => {
    const r = await owner.register('args', 100, 3);
    const e = await failure(() => peer.read(r.key, r.addr, 100, new Uint8Array(50), 0));
    expect([e.code, reason(e)]).toEqual(['INVALID_ARGUMENT', 'EINVAL']);
    const e2 = await failure(() => peer.read(-1, r.addr, 1, new Uint8Array(1), 0));
    expect(e2.code).toBe('INVALID_ARGUMENT');
  });

  it('writes only into WRITE registrations', async () => {
    const ro = await owner.register('ro', 64, 1);
    const data = pattern(64, 99);
    const e = await failure(peer.write(ro.key, ro.addr, 64, data, 0));
    expect([e.code, reason(e)]).toEqual(['AUTH', 'EACCES']);
    const rw = await owner.register('rw', 64, 1, { access: ACCESS_READ | ACCESS_WRITE });
    await expect(peer.write(rw.key, rw.addr, 64, data, 0)).resolves.toBe(64);
    expect(await owner.call('crc', { name: 'rw' })).toBe(addon.crc32c(data));
    const wo = await owner.register('wo', 64, 1, { access: ACCESS_WRITE });
    const e2 = await failure(peer.read(wo.key, wo.addr, 64, new Uint8Array(64), 0));
    expect(reason(e2)).toBe('EACCES');
  });

  it('deregisters a region its owner lost to the garbage collector', async () => {
    const d = await owner.call<{ key: number; addr: string; freed: boolean }>('gcRegion');
    expect(d.freed).toBe(true);
    const e = await failure(peer.read(d.key, BigInt(d.addr), 64, new Uint8Array(64), 0));
    expect(reason(e)).toBe('EKEY');
  });

  it('names the peer of a Unix socket (SO_PEERCRED), through SocketLink.peerCredentials', async () => {
    const path = dir.path('cred.sock');
    await owner.call('listen', { path });
    const sock = createConnection(path);
    await new Promise((resolve) => sock.once('connect', resolve));
    const link = new SocketLink(sock);
    expect(link.peerCredentials((fd) => addon.peerCredentials(fd))).toEqual({
      pid: owner.pid,
      uid: process.getuid?.(),
      gid: process.getgid?.(),
    });
    link.close(new IpcError('CLOSED', 'done'));
    const e = await failure(() => addon.peerCredentials(0x7fff0000));
    expect(e.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a table address where there is none', async () => {
    const t = await owner.table();
    const e = await failure(() => addon.cmaPeer(owner.pid, t.addr + 64n));
    expect([e.code, reason(e)]).toEqual(['PROTOCOL', 'EPROTO']);
    const e2 = await failure(() => addon.cmaPeer(owner.pid, 8n));
    expect(e2.code).toBe('PROTOCOL');
  });
});

describe('cma: the peer dies mid-transfer', () => {
  it('settles every copy: the right bytes or CLOSED (ESRCH), and CLOSED after its death', async () => {
    const victim = await OwnerProcess.start();
    const t = await victim.table();
    const p = addon.cmaPeer(victim.pid, t.addr);
    const size = 8 << 20;
    const r = await victim.register('big', size, 11);
    const expected = addon.crc32c(pattern(size, 11));
    const copies = Array.from({ length: 6 }, () =>
      p.read(r.key, r.addr, size, new Uint8Array(size), 0, COPY_CRC).then(
        (crc) => ({ crc }),
        (err: unknown) => ({ err: toIpcError(err) }),
      ),
    );
    await victim.kill();
    for (const outcome of await Promise.all(copies)) {
      if ('crc' in outcome) expect(outcome.crc).toBe(expected);
      else expect([outcome.err.code, reason(outcome.err)]).toEqual(['CLOSED', 'ESRCH']);
    }
    const e = await failure(p.read(r.key, r.addr, 100, new Uint8Array(100), 0));
    expect([e.code, reason(e)]).toEqual(['CLOSED', 'ESRCH']);
    const e2 = await failure(() => addon.cmaPeer(victim.pid, t.addr));
    expect(e2.code).toBe('CLOSED');
    p.close();
  });

  it('settles pending copies with CLOSED when the peer handle is closed', async () => {
    const t = await owner.table();
    const p = addon.cmaPeer(owner.pid, t.addr, 1);
    const r = await owner.register('closing', 8 << 20, 12);
    const copies = Array.from({ length: 8 }, () =>
      p.read(r.key, r.addr, r.length, new Uint8Array(r.length), 0).then(
        (n) => n,
        (err: unknown) => toIpcError(err),
      ),
    );
    p.close();
    const outcomes = await Promise.all(copies);
    for (const o of outcomes) {
      if (o instanceof IpcError) expect(o.code).toBe('CLOSED');
      else expect(o).toBe(r.length);
    }
    const e = await failure(p.read(r.key, r.addr, 1, new Uint8Array(1), 0));
    expect(e.code).toBe('CLOSED');
  });
});
