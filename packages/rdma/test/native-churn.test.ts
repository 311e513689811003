/**
 * The seqlock check under churn, in one process (a peer may be this process): while copies
 * run on the thread pool, the JS thread deregisters the region, rewrites its bytes and
 * registers them again. A copy that succeeds must hold exactly the bytes its key named; the
 * others fail with ECHANGED or EKEY. Also: the portable CRC32C path, and closing a peer whose
 * reads wait for an arena.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { COPY_CRC, loadNative, type NativePeer, type Region, toIpcError } from '../src/native.js';
import { OwnerProcess, tempDir } from './fixtures/native-child.js';

const addon = loadNative();
const dir = tempDir('oc-rdma-churn-');
afterAll(() => dir.remove());

const SIZE = 2 << 20;

async function churn(peer: NativePeer, bytes: Buffer): Promise<{ ok: number; changed: number }> {
  const crcOf = new Map<number, number>();
  let fill = 1;
  bytes.fill(fill);
  let region: Region = addon.register(bytes);
  crcOf.set(region.key, addon.crc32c(bytes));
  const outcomes: Promise<'ok' | 'changed'>[] = [];
  for (let round = 0; round < 40; round++) {
    const key = region.key;
    outcomes.push(
      peer.read(key, region.addr, SIZE, Buffer.alloc(SIZE), 0, COPY_CRC).then(
        (crc) => {
          expect(crc).toBe(crcOf.get(key));
          return 'ok';
        },
        (err: unknown) => {
          expect(['ECHANGED', 'EKEY']).toContain((toIpcError(err).details as { reason: string }).reason);
          return 'changed';
        },
      ),
    );
    region.close();
    fill = (fill % 250) + 1;
    bytes.fill(fill);
    region = addon.register(bytes);
    crcOf.set(region.key, addon.crc32c(bytes));
  }
  const all = await Promise.all(outcomes);
  region.close();
  return { ok: all.filter((o) => o === 'ok').length, changed: all.filter((o) => o === 'changed').length };
}

describe('copies racing deregistration', () => {
  it('cma: a copy that succeeds has the bytes its key named', async () => {
    const peer = addon.cmaPeer(process.pid, addon.table().addr, 1);
    const r = await churn(peer, Buffer.alloc(SIZE));
    expect(r.ok + r.changed).toBe(40);
    peer.close();
  });

  it('shm: a copy that succeeds has the bytes its key named', async () => {
    const path = dir.path('self.shm');
    const server = addon.shmServe(path);
    const peer = await addon.shmAttach(path, 4, 1);
    const arena = addon.allocate(SIZE);
    const r = await churn(peer, arena.buffer);
    expect(r.ok + r.changed).toBe(40);
    peer.close();
    arena.close();
    server.close();
  });
});

describe('closing and exiting', () => {
  it('closing a peer settles reads waiting for an arena with CLOSED', async () => {
    const path = dir.path('close.shm');
    const server = addon.shmServe(path);
    const peer = await addon.shmAttach(path);
    const arena = addon.allocate(4096);
    const region = addon.register(arena.buffer.subarray(0, 100));
    const waiting = peer.read(region.key, region.addr, 100, new Uint8Array(100), 0);
    peer.close();
    const e = toIpcError(
      await waiting.then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    expect([e.code, (e.details as { reason: string }).reason]).toEqual(['CLOSED', 'ECLOSED']);
    region.close();
    arena.close();
    server.close();
  });

  it('unlinks the fd socket of a process that ends without closing it (cleanup hook, atexit)', async () => {
    for (const how of ['leave', 'exit']) {
      // leave: the event loop empties (the addon's handles do not hold it), the env cleanup
      // hook closes the server; exit: process.exit() skips the hooks, atexit unlinks.
      const owner = await OwnerProcess.start();
      const path = dir.path(`${how}.shm`);
      await owner.call('serve', { path });
      const peer = await addon.shmAttach(path);
      expect(existsSync(path)).toBe(true);
      owner.call(how).catch(() => {});
      await owner.exited;
      expect(existsSync(path)).toBe(false);
      peer.close();
    }
  });

  it('holds the event loop while an answer from the fd socket is awaited, not when idle', () => {
    // Nothing else keeps this script alive: the attach and the arena fetch must, the idle
    // connection and the server must not (the script ends without closing them).
    const script = `
      const { loadNative } = await import(${JSON.stringify(new URL('../src/native.ts', import.meta.url).href)});
      const a = loadNative();
      const path = ${JSON.stringify(dir.path('loop.shm'))};
      // Kept reachable: a collected ShmServer or Region closes itself (finalizer), which
      // would end the attach with ESRCH or the read with EKEY before the loop is tested.
      globalThis.kept = [a.shmServe(path)];
      const arena = a.allocate(4096);
      arena.buffer.write('held');
      const region = a.register(arena.buffer.subarray(0, 4));
      globalThis.kept.push(arena, region);
      a.shmAttach(path).then((peer) => {
        const into = Buffer.alloc(4);
        return peer.read(region.key, region.addr, 4, into, 0).then(() => console.log(into.toString()));
      });`;
    const r = spawnSync(
      process.execPath,
      ['--conditions=@openclaw-ipc/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect([r.status, r.stdout.trim()]).toEqual([0, 'held']);
    expect(existsSync(dir.path('loop.shm'))).toBe(false);
  });

  it('stays loaded when a worker thread that loaded it first exits (linked -z nodelete)', () => {
    // Node unloads a worker's addons at its exit; the addon's atexit hook and thread-pool
    // copies must not outlive its code. A fresh process, so that the worker loads it first.
    const native = JSON.stringify(new URL('../src/native.ts', import.meta.url).href);
    const script = `
      const { Worker } = await import('node:worker_threads');
      const { readFileSync } = await import('node:fs');
      const w = new Worker(
        "import('tsx/esm/api').then(({ register }) => { register(); return import(" + ${JSON.stringify(native)} + ").then((m) => { m.loadNative().allocate(4096); require('node:worker_threads').parentPort.postMessage('loaded'); }); });",
        { eval: true, execArgv: ['--conditions=@openclaw-ipc/source'] },
      );
      await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      await w.terminate();
      await new Promise((r) => setTimeout(r, 100));
      console.log(/\\/verbs[^/\\n]*\\.node$/m.test(readFileSync('/proc/self/maps', 'utf8')) ? 'mapped' : 'unloaded');
      const { loadNative } = await import(${native});
      const arena = loadNative().allocate(4096);
      console.log(arena.buffer.length);`;
    const r = spawnSync(
      process.execPath,
      ['--conditions=@openclaw-ipc/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect([r.status, r.stdout.trim().split('\n')]).toEqual([0, ['mapped', '4096']]);
  });

  it('computes the same CRC32C, and copy + CRC, without SSE4.2 (portable tables)', () => {
    const script = `
      const { loadNative } = await import(${JSON.stringify(new URL('../src/native.ts', import.meta.url).href)});
      const a = loadNative();
      const data = Buffer.alloc(100_003);
      for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
      const path = ${JSON.stringify(dir.path('crc.shm'))};
      const server = a.shmServe(path);
      const peer = await a.shmAttach(path);
      const arena = a.allocate(data.length);
      data.copy(arena.buffer);
      const region = a.register(arena.buffer.subarray(0, data.length));
      const into = Buffer.alloc(data.length + 1);
      const copied = await peer.read(region.key, region.addr, data.length, into, 1, 1);
      peer.close();
      server.close();
      console.log(JSON.stringify({ hw: a.crc32cHardware(), check: a.crc32c(Buffer.from('123456789')),
        big: a.crc32c(data), odd: a.crc32c(data.subarray(3, 77_777), 12345),
        copied, bytes: into.subarray(1).equals(data) }));`;
    const run = (env: Record<string, string>) => {
      const r = spawnSync(
        process.execPath,
        ['--conditions=@openclaw-ipc/source', '--import', 'tsx', '--input-type=module', '-e', script],
        { env: { ...process.env, ...env }, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as {
        hw: boolean;
        check: number;
        big: number;
        odd: number;
        copied: number;
        bytes: boolean;
      };
    };
    const portable = run({ OPENCLAW_IPC_CRC32C_PORTABLE: '1' });
    const native = run({});
    expect(portable.hw).toBe(false);
    expect(portable.check).toBe(0xe3069283);
    expect([portable.copied, portable.bytes]).toEqual([portable.big, true]); // copy + CRC in one pass
    expect({ ...portable, hw: native.hw }).toEqual(native);
  });
});
