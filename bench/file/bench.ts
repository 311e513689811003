/**
 * File-channel benchmark: request-to-response latency (p50/p99, sequential) and messages per
 * second, for our ipckit mode and journal mode (and the journal with `fsync: true`: the price of
 * surviving a power cut), against ipckit's own round trip (its Python package:
 * FileChannel.send_request + wait_response, which polls every 50 ms) measured in the same run.
 * Backend and frontend are separate processes in every case.
 *
 *   node --import tsx bench/file/bench.ts [--quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileChannel } from '@openclaw-ipc/file';
import { ensureIpckit, ipckitEnv, PYTHON } from '../../packages/file/test/interop/ensure-ipckit.js';
import { chart } from '../chart.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const peer = join(here, '../../packages/file/test/interop/ipckit_peer.py');
const quick = process.argv.includes('--quick');
const LAT_N = quick ? 50 : 300;
const IPCKIT_N = quick ? 20 : 60;
const THROUGHPUT_N = quick ? 2000 : 10_000;
const ONEWAY_N = quick ? 5000 : 30_000;
const ONEWAY_WARMUP = ONEWAY_N;

const base = mkdtempSync(join(tmpdir(), 'oc-bench-file-'));
let dirs = 0;
const newDir = () => join(base, `c${dirs++}`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function waitLine(child: ChildProcess, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      if (test(l)) {
        rl.close();
        resolve(l);
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

async function ipckitBaseline() {
  ensureIpckit();
  const dir = newDir();
  const server = spawn(PYTHON, [peer, 'serve', dir, 'backend'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: ipckitEnv(),
  });
  await waitLine(server, (l) => l.includes('ready'));
  const client = spawn(PYTHON, [peer, 'bench', dir, 'frontend', String(IPCKIT_N)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: ipckitEnv(),
  });
  const line = await waitLine(client, (l) => l.includes('latencies'));
  server.kill('SIGKILL');
  const lat = (JSON.parse(line).latencies as number[]).sort((a, b) => a - b);
  const total = lat.reduce((s, x) => s + x, 0);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perSec: (IPCKIT_N / total) * 1000 };
}

async function ours(mode: 'ipckit' | 'journal', fsync = false) {
  const dir = newDir();
  const args = [...process.execArgv, join(here, 'server.ts'), dir, mode, ...(fsync ? ['fsync'] : [])];
  const server = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitLine(server, (l) => l === 'ready');
  const client = await FileChannel.frontend(dir, {
    mode,
    fsync,
    client: { reconnect: false, timeout: 120_000 },
  });
  for (let i = 0; i < 20; i++) await client.request('echo', { i }); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < LAT_N; i++) {
    const t = performance.now();
    await client.request('echo', { i });
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  // Requests per second with 64 in flight.
  let t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < THROUGHPUT_N) await client.request('echo', { i: next++ });
    }),
  );
  const reqPerSec = (THROUGHPUT_N / (performance.now() - t)) * 1000;
  // One-way messages per second, counted by the backend: zero loss means count === sent. A first
  // burst (not counted) warms both ends' event paths up, as the 20 requests above do for latency.
  for (let i = 0; i < ONEWAY_WARMUP; i++) await client.notify('n', { i });
  const warmDeadline = performance.now() + 60_000; // a loss shows in the measured burst, not here
  while (((await client.request('count')) as number) < ONEWAY_WARMUP && performance.now() < warmDeadline)
    await new Promise((r) => setTimeout(r, 2));
  const before = (await client.request('count')) as number;
  t = performance.now();
  for (let i = 0; i < ONEWAY_N; i++) await client.notify('n', { i });
  // Wait until all have arrived, or nothing more arrives for a second (lost by the format).
  let got = 0;
  let lastChange = performance.now();
  let doneAt = performance.now();
  while (got < ONEWAY_N && performance.now() - lastChange < 1000) {
    const now = ((await client.request('count')) as number) - before;
    if (now !== got) {
      got = now;
      lastChange = doneAt = performance.now();
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const msgPerSec = (got / (doneAt - t)) * 1000;
  await client.notify('bye');
  await new Promise((r) => server.on('exit', r));
  client.close();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), reqPerSec, msgPerSec, sent: ONEWAY_N, got };
}

const fmt = (x: number, d = 2) => x.toFixed(d);
try {
  const baseline = await ipckitBaseline();
  const kit = await ours('ipckit');
  const journal = await ours('journal');
  const synced = await ours('journal', true);
  const rows = [
    [
      'ipckit (Python, its own wait_response)',
      fmt(baseline.p50),
      fmt(baseline.p99),
      fmt(baseline.perSec, 0),
      '—',
      '—',
      '1.00',
    ],
    ...(
      [
        ['ours, ipckit mode', kit],
        ['ours, journal mode', journal],
        ['ours, journal mode, fsync: true', synced],
      ] as const
    ).map(([name, r]) => [
      name,
      fmt(r.p50),
      fmt(r.p99),
      fmt(r.reqPerSec, 0),
      fmt(r.msgPerSec, 0),
      `${r.sent - r.got}`,
      fmt(r.p50 / baseline.p50, 3),
    ]),
  ];
  const header = ['case', 'p50 ms', 'p99 ms', 'req/s', 'one-way msg/s', 'lost', 'p50 vs ipckit'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    `\nlatency: ${LAT_N} sequential echo requests (ipckit: ${IPCKIT_N}); req/s: ${THROUGHPUT_N} echo requests, 64 in flight; one-way: ${ONEWAY_N} events counted by the backend, after ${ONEWAY_WARMUP} not counted.`,
  );
  console.log(
    `\n${chart({
      title: 'File channel, p50 round trip, ms (lower is better)',
      labels: rows.map((r) => r[0]!),
      values: [baseline.p50, kit.p50, journal.p50, synced.p50],
      unit: 'ms',
    })}\n`,
  );
  const targets: Array<[string, boolean]> = [
    ['journal p50 <= 1 ms', journal.p50 <= 1],
    ['ipckit mode p50 <= 0.1x ipckit', kit.p50 <= 0.1 * baseline.p50],
    ['journal one-way >= 100,000 msg/s', journal.msgPerSec >= 100_000],
    ['zero loss', [kit, journal, synced].every((r) => r.got === r.sent)],
  ];
  console.log(`targets: ${targets.map(([name, met]) => `${name} ${met ? 'met' : 'NOT met'}`).join('; ')}`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
