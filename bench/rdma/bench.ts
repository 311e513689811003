/**
 * bench/rdma: moving 64 KiB, 1 MiB and 64 MiB between two processes over the rdma transport's
 * same-host providers, against the unix transport sending the same bytes and against memcpy,
 * all measured in this run (rounds interleaved, medians shown).
 * - read:  a one-sided read of a region registered by the server process (shm: copy out of the
 *          mapped memfd arena; cma: process_vm_readv), CRC32C computed while copying;
 * - rpc:   a `blob` request whose result comes back by rendezvous (server registers, client
 *          reads one-sidedly and checks the CRC32C, RELEASE), vs the same request over unix;
 * - memcpy: Buffer.copy between two prefaulted buffers in this process.
 * Both the rdma and unix `blob` cases serve the same prebuilt bytes (built once per size by the
 * server, never inside the timing). Printed beside the GB/s: the CPU time per operation of this
 * process and, for the RPCs, of the server process.
 * Targets at 64 MiB: shm read (copy fused with CRC32C) >= 0.7x memcpy, cma >= 0.45x memcpy, both >= 3x the unix transport.
 *
 * Run: node --import tsx bench/rdma/bench.ts [--quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RpcClient } from '@openclaw-ipc/core';
import { providerByName, type RegionDescriptor, type RemotePeer, rdmaTransport } from '@openclaw-ipc/rdma';
import { unixTransport } from '@openclaw-ipc/unix';
import { chart } from '../chart.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
/** Milliseconds each case runs per round (at least MIN_OPS operations). */
const CASE_MS = quick ? 150 : 400;
const MIN_OPS = 3;
const SIZES = [64 * 1024, 1024 * 1024, 64 * 1024 * 1024];
const MAX = 80 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'oc-bench-rdma-'));
const urls = {
  shm: new URL(`rdma+shm://${join(dir, 'shm.sock')}`),
  cma: new URL(`rdma+cma://${join(dir, 'cma.sock')}`),
  unix: new URL(`unix://${join(dir, 'unix.sock')}`),
};

function startServer(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv, // this program's flags: built packages or sources (bench/run.mjs)
      join(here, 'server.ts'),
      ...Object.values(urls).map(String),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** This process' CPU time (user + system) per operation, in ms, by case, of the last measure(). */
let lastCpuMs = 0;
/** The server process' CPU time per operation, in ms, of the last measure() (from /proc, 10 ms ticks). */
let lastServerCpuMs = 0;

/** CPU time (user + system, all threads) of the server process so far, in ms. */
function serverCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return Number.NaN;
  }
}

/** Bytes per second of `op` moving `size` bytes, run for CASE_MS; sets lastCpuMs. */
async function measure(size: number, op: () => Promise<unknown> | unknown): Promise<number> {
  await op();
  let n = 0;
  const server0 = serverCpuMs();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (n < MIN_OPS || performance.now() - start < CASE_MS) {
    await op();
    n++;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lastCpuMs = (cpu.user + cpu.system) / 1000 / n;
  lastServerCpuMs = (serverCpuMs() - server0) / n;
  return (n * size) / seconds;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const gbs = (bps: number): string => (bps / 1e9).toFixed(2);
const label = (size: number): string => (size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`);

const server = await startServer();
// Whatever happens below, the server process goes with us.
process.once('exit', () => server.kill('SIGKILL'));
const clients: Record<string, RpcClient> = {
  shm: await rdmaTransport.connect(urls.shm, { reconnect: false, timeout: 0 }),
  cma: await rdmaTransport.connect(urls.cma, { reconnect: false, timeout: 0 }),
  unix: await unixTransport.connect(urls.unix, {
    reconnect: false,
    timeout: 0,
    maxMessageSize: MAX,
  }),
};

// One-sided readers of regions the server registered.
const readers: Record<
  string,
  { peer: RemotePeer; regions: Map<number, RegionDescriptor>; close: () => void }
> = {};
for (const provider of ['shm', 'cma'] as const) {
  const endpoint = await (await providerByName(provider)).open({ role: 'client' });
  const regions = new Map<number, RegionDescriptor>();
  let peer: RemotePeer | undefined;
  for (const size of SIZES) {
    const r = (await clients[provider]!.request('region', { provider, size })) as {
      descriptor: RegionDescriptor;
      handshake: Record<string, unknown>;
      pid: number;
    };
    peer ??= await endpoint.connect({ role: 'client', pid: r.pid, handshake: r.handshake });
    regions.set(size, { ...r.descriptor, addr: BigInt(r.descriptor.addr) });
  }
  readers[provider] = {
    peer: peer!,
    regions,
    close: () => {
      peer!.close();
      void endpoint.close();
    },
  };
}

type Row = Record<string, number[]>;
const results = new Map<number, Row>();
const cpuResults = new Map<number, Row>();
const serverCpuResults = new Map<number, Row>();
for (const size of SIZES) {
  const into = Buffer.alloc(size, 1); // prefaulted
  const src = Buffer.alloc(size, 2);
  const row: Row = {
    memcpy: [],
    'shm read': [],
    'cma read': [],
    'shm rpc': [],
    'cma rpc': [],
    'unix rpc': [],
  };
  const cpuRow: Row = Object.fromEntries(Object.keys(row).map((k) => [k, [] as number[]]));
  const serverCpuRow: Row = Object.fromEntries(Object.keys(row).map((k) => [k, [] as number[]]));
  const push = (k: string, bps: number) => {
    row[k]!.push(bps);
    cpuRow[k]!.push(lastCpuMs);
    serverCpuRow[k]!.push(lastServerCpuMs);
  };
  for (let round = 0; round < ROUNDS; round++) {
    push('memcpy', await measure(size, () => src.copy(into)));
    for (const p of ['shm', 'cma'] as const) {
      const { peer, regions } = readers[p]!;
      const d = regions.get(size)!;
      push(`${p} read`, await measure(size, () => peer.read(d, into)));
    }
    for (const t of ['shm', 'cma', 'unix'] as const)
      push(`${t} rpc`, await measure(size, () => clients[t]!.request('blob', { size })));
  }
  results.set(size, row);
  cpuResults.set(size, cpuRow);
  serverCpuResults.set(size, serverCpuRow);
}

const load = loadavg()[0]!.toFixed(2);
console.log(
  `bench/rdma — ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${load}, ${ROUNDS} rounds, medians in GB/s`,
);
console.log('');
const cols = ['memcpy', 'shm read', 'cma read', 'shm rpc', 'cma rpc', 'unix rpc'];
console.log(
  `| size | ${cols.join(' | ')} | shm read / memcpy | cma read / memcpy | shm rpc / unix | cma rpc / unix |`,
);
console.log(`|---|${cols.map(() => '---:').join('|')}|---:|---:|---:|---:|`);
const m = (row: Row, k: string) => median(row[k]!);
for (const [size, row] of results) {
  const r = (a: string, b: string) => `${(m(row, a) / m(row, b)).toFixed(2)}x`;
  console.log(
    `| ${label(size)} | ${cols.map((c) => gbs(m(row, c))).join(' | ')} | ${r('shm read', 'memcpy')} | ${r('cma read', 'memcpy')} | ${r('shm rpc', 'unix rpc')} | ${r('cma rpc', 'unix rpc')} |`,
  );
}
console.log('');
console.log(
  'client (bench process) CPU time per operation, ms (user + system; the server process is not counted):',
);
console.log('');
console.log(`| size | ${cols.join(' | ')} |`);
console.log(`|---|${cols.map(() => '---:').join('|')}|`);
for (const [size, row] of cpuResults)
  console.log(`| ${label(size)} | ${cols.map((c) => m(row, c).toFixed(3)).join(' | ')} |`);
console.log('');
console.log(
  'server process CPU time per operation, ms (user + system from /proc, 10 ms ticks; memcpy and the reads do not involve it):',
);
console.log('');
const serverCols = ['shm rpc', 'cma rpc', 'unix rpc'];
console.log(`| size | ${serverCols.join(' | ')} |`);
console.log(`|---|${serverCols.map(() => '---:').join('|')}|`);
for (const [size, row] of serverCpuResults)
  console.log(`| ${label(size)} | ${serverCols.map((c) => m(row, c).toFixed(3)).join(' | ')} |`);
const big = results.get(64 * 1024 * 1024)!;
console.log('');
console.log(
  chart({
    title: '64 MiB, GB/s (higher is better)',
    labels: cols,
    values: cols.map((c) => Number((m(big, c) / 1e9).toFixed(2))),
    unit: 'GB/s',
  }),
);
const check = (name: string, value: number, target: number) =>
  console.log(
    `${value >= target ? 'met   ' : 'MISSED'} ${name}: ${value.toFixed(2)}x (target >= ${target}x)`,
  );
console.log('');
console.log('targets at 64 MiB:');
check('shm read vs memcpy', m(big, 'shm read') / m(big, 'memcpy'), 0.7);
check('cma read vs memcpy', m(big, 'cma read') / m(big, 'memcpy'), 0.45);
check('shm rpc vs unix rpc', m(big, 'shm rpc') / m(big, 'unix rpc'), 3);
check('cma rpc vs unix rpc', m(big, 'cma rpc') / m(big, 'unix rpc'), 3);
check('shm read vs unix rpc', m(big, 'shm read') / m(big, 'unix rpc'), 3);
check('cma read vs unix rpc', m(big, 'cma read') / m(big, 'unix rpc'), 3);

for (const c of Object.values(clients)) c.close();
for (const r of Object.values(readers)) r.close();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dir, { recursive: true, force: true });
