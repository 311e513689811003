/**
 * bench/scale: how cost grows, each figure beside its baseline measured in this run, every
 * server in its own process.
 * - connections: a ws server holding 10,000 open connections (the clients in four other
 *   processes, 1,000 of them sending), memory per connection and p99, against a raw `ws` server
 *   doing the same (target <= 1.25x its memory per connection); a unix server with 1,000
 *   clients against a raw node:net echo server;
 * - payload sweep, 64 B to 64 MiB: unix, rdma+shm, rdma+cma, ws and nng, latency and MB/s of
 *   sequential echoes, against the raw echo of each (node:net for unix and rdma, `ws` for ws,
 *   our ReqSocket for nng);
 * - in-flight sweep, 1 to 1024: unix, ws and nng, throughput and p99, against the same;
 * - soak: 10^6 requests over unix and ws after a warm-up; the server's memory after the run
 *   against after the warm-up (target growth <= 5 %), every request answered.
 *
 * Run: node --import tsx bench/scale/bench.ts [--quick] [--only=connections,payload,inflight,soak]
 * (the server processes hold 10,000 sockets: the fd limit, `ulimit -n`, must allow it).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chart } from '../chart.mjs';
import { describePlacement, pinClient } from '../placement.mjs';
import { type EchoClient, oursUnix, oursWs, rawUnix, rawWs } from './clients.js';
import { measureConnections } from './connections.js';
import { memoryOf, startServer } from './procs.js';
import { inFlightRun, type System, sequentialUs, startSystems } from './sweeps.js';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const wanted = (section: string) => !only || only.includes(section);

const CONNECTIONS = quick ? 2_000 : 10_000;
const SENDERS = quick ? 200 : 1_000;
const CONN_REQUESTS = quick ? 10 : 20;
const UNIX_CLIENTS = 1_000;
const PAYLOADS = [64, 1024, 16 << 10, 256 << 10, 1 << 20, 16 << 20, 64 << 20];
const IN_FLIGHT = [1, 4, 16, 64, 256, 1024];
const ROUNDS = quick ? 1 : 2;
/** The in-flight cases are short and move most with load on the machine: one more round each. */
const IN_FLIGHT_ROUNDS = quick ? 1 : 3;
const CASE_MS = quick ? 150 : 600;
/** Each client's warm-up before a sweep (its code compiled, its buffers grown). */
const WARM_MS = quick ? 200 : 1000;
const SOAK = quick ? 100_000 : 1_000_000;
/**
 * Requests before the soak's first reading: under sustained load V8 grows its committed heap (the
 * young generation) and RSS follows for the first few 10^5 requests, with the heap in use flat.
 */
const SOAK_WARM = quick ? 100_000 : 500_000;
const MEMORY_TARGET = 1.25;
const GROWTH_TARGET = 0.05;

const kib = (b: number) => (b / 1024).toFixed(2);
const fmt = (n: number, d = 1) => n.toFixed(d);
const sizeLabel = (n: number) => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const table = (header: string[], rows: string[][]) =>
  [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function connections(): Promise<void> {
  const rows: string[][] = [];
  const pairs: Array<[string, string, number, number]> = [
    ['ws-ours', 'ws-raw', CONNECTIONS, SENDERS],
    ['unix-ours', 'unix-raw', UNIX_CLIENTS, UNIX_CLIENTS],
  ];
  const ratios: Array<[string, number]> = [];
  for (const [ours, raw, n, senders] of pairs) {
    const base = await measureConnections(raw, n, senders, CONN_REQUESTS);
    const mine = await measureConnections(ours, n, senders, CONN_REQUESTS);
    for (const r of [base, mine]) {
      const isOurs = r === mine;
      rows.push([
        isOurs
          ? `openclaw-ipc ${r.system.split('-')[0]}`
          : r.system.startsWith('ws')
            ? 'raw ws echo'
            : 'raw node:net echo',
        `${r.connections} (${r.senders} sending)`,
        kib(r.rssPer),
        kib(r.heapPer),
        kib(r.externalPer),
        fmt(r.p50Us / 1000, 2),
        fmt(r.p99Us / 1000, 2),
        `${r.answered}/${r.expected}`,
        isOurs
          ? `${base.rssPer > 0 ? `${fmt(r.rssPer / base.rssPer, 2)}x` : 'n/a (raw within noise)'} RSS, ${fmt(r.heapPer / base.heapPer, 2)}x heap`
          : '',
      ]);
    }
    ratios.push(
      [`${ours.split('-')[0]} RSS`, mine.rssPer / base.rssPer],
      [`${ours.split('-')[0]} heap`, mine.heapPer / base.heapPer],
    );
  }
  console.log(`### Connections\n\nload average ${load()}\n`);
  console.log(
    table(
      [
        'server',
        'connections',
        'RSS KiB/conn',
        'heap KiB/conn',
        'external KiB/conn',
        'p50 ms',
        'p99 ms',
        'answered',
        'vs raw',
      ],
      rows,
    ),
  );
  const ws = ratios.filter(([k]) => k.startsWith('ws'));
  // A few thousand connections move RSS by less than RSS moves by itself between two readings.
  const verdict = quick
    ? `heap ${ws[1]![1] <= MEMORY_TARGET ? 'met' : 'missed'}; RSS not judged at ${CONNECTIONS} connections, within its own noise: the full run's 10,000 are the figure`
    : ws.every(([, v]) => v <= MEMORY_TARGET)
      ? 'met'
      : 'missed';
  console.log(
    `\nws: ${ws.map(([k, v]) => `${k} ${fmt(v, 2)}x`).join(', ')} the raw ws server's per connection (target <= ${MEMORY_TARGET}x: ${verdict})\n`,
  );
  // RSS of 1,000 unix connections is within the noise of RSS itself (it can shrink): the table
  // has it, the chart only the ws ratios, which have the target.
  console.log(
    chart({
      title: `ws server memory per connection, ${CONNECTIONS} connections, openclaw-ipc / a raw ws server (lower is better)`,
      labels: ws.map(([k]) => k),
      values: ws.map(([, v]) => Number(Math.max(0, v).toFixed(2))),
      unit: 'x the raw server',
      line: MEMORY_TARGET,
      lineLabel: 'target',
    }),
  );
  console.log('');
}

/** Runs `measure` for every system, `rounds` times in turn, and keeps each one's best. */
async function bestOf<T>(
  systems: System[],
  measure: (system: System, client: Awaited<ReturnType<System['open']>>) => Promise<T>,
  better: (a: T, b: T) => boolean,
  rounds = ROUNDS,
): Promise<Map<string, T>> {
  const clients = await Promise.all(systems.map((s) => s.open()));
  const best = new Map<string, T>();
  try {
    // Large echoes first: the collection of their buffers falls in the warm-up, not in the
    // first timed case.
    for (const c of clients) {
      await sequentialUs(c.prepare(256 << 10), WARM_MS / 3, 3);
      await inFlightRun(c.prepare(1024), 16, WARM_MS);
    }
    for (let round = 0; round < rounds; round++) {
      for (const [i, s] of systems.entries()) {
        const r = await measure(s, clients[i]!);
        const prev = best.get(s.name);
        if (prev === undefined || better(r, prev)) best.set(s.name, r);
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
  return best;
}

async function payloadSweep(): Promise<void> {
  const names = [
    'unix raw echo',
    'unix',
    'rdma+shm',
    'rdma+cma',
    'ws raw echo',
    'ws',
    'nng ReqSocket',
    'nng',
  ];
  const { systems, stop } = await startSystems(names);
  const rows: string[][] = [];
  const rendezvous: number[] = [];
  let biggest = new Map<string, number>();
  try {
    for (const size of PAYLOADS) {
      const minOps = size >= 16 << 20 ? (quick ? 1 : 2) : 3;
      const us = await bestOf(
        systems,
        (_s, c) => sequentialUs(c.prepare(size), CASE_MS, minOps),
        (a, b) => a < b,
      );
      const mbs = (name: string) => size / us.get(name)!;
      for (const s of systems) {
        if (!s.baseline) continue;
        rows.push([
          sizeLabel(size),
          s.name,
          fmt(us.get(s.name)!),
          fmt(mbs(s.name)),
          `${s.baseline} ${fmt(us.get(s.baseline)!)} µs, ${fmt(mbs(s.baseline))} MB/s`,
          `${fmt(mbs(s.name) / mbs(s.baseline), 2)}x`,
        ]);
      }
      rendezvous.push(mbs('rdma+shm') / mbs('unix'));
      biggest = new Map(systems.map((s) => [s.name, mbs(s.name)]));
    }
  } finally {
    await stop();
  }
  console.log(`### Payload sweep\n\nsequential echoes; load average ${load()}\n`);
  console.log(table(['payload', 'system', 'µs per echo', 'MB/s', 'its raw echo', 'MB/s vs raw'], rows));
  console.log(
    `\n${chart({
      title: `Echo of ${sizeLabel(PAYLOADS.at(-1)!)}, MB/s of payload (higher is better)`,
      labels: [...biggest.keys()].map((k) =>
        names.slice(1).includes(k) && !k.includes('raw') && k !== 'nng ReqSocket' ? `openclaw-ipc ${k}` : k,
      ),
      values: [...biggest.values()].map((v) => Number(v.toFixed(1))),
      unit: 'MB/s',
    })}\n\n${chart({
      title:
        'Where the rendezvous pays off: rdma+shm MB/s / unix transport MB/s, by payload (higher is better)',
      labels: PAYLOADS.map(sizeLabel),
      values: rendezvous.map((v) => Number(v.toFixed(2))),
      unit: 'x unix',
      line: 1,
      lineLabel: 'the unix transport',
    })}\n`,
  );
}

async function inFlightSweep(): Promise<void> {
  const names = ['unix raw echo', 'unix', 'ws raw echo', 'ws', 'nng ReqSocket', 'nng'];
  const { systems, stop } = await startSystems(names);
  const rows: string[][] = [];
  const at64: Array<[string, number]> = [];
  try {
    for (const n of IN_FLIGHT) {
      const r = await bestOf(
        systems,
        (_s, c) => inFlightRun(c.prepare(64), n, CASE_MS),
        (a, b) => a.perSec > b.perSec,
        IN_FLIGHT_ROUNDS,
      );
      for (const s of systems) {
        if (!s.baseline) continue;
        const o = r.get(s.name)!;
        const b = r.get(s.baseline)!;
        rows.push([
          String(n),
          s.name,
          fmt(o.perSec / 1000),
          fmt(o.p99Us / 1000, 2),
          `${s.baseline} ${fmt(b.perSec / 1000)} k/s, p99 ${fmt(b.p99Us / 1000, 2)} ms`,
          `${fmt(o.perSec / b.perSec, 2)}x`,
        ]);
        if (n === 64) at64.push([s.name, o.perSec / b.perSec]);
      }
    }
  } finally {
    await stop();
  }
  console.log(`### In-flight sweep\n\n64 B payloads; load average ${load()}\n`);
  console.log(table(['in flight', 'system', 'k req/s', 'p99 ms', 'its raw echo', 'throughput vs raw'], rows));
  console.log(
    `\n${chart({
      title: 'Throughput at 64 in flight, openclaw-ipc / its raw echo (higher is better)',
      labels: at64.map(([k]) => `openclaw-ipc ${k}`),
      values: at64.map(([, v]) => Number(v.toFixed(2))),
      unit: 'x the raw echo',
      line: 1,
      lineLabel: 'the raw echo',
    })}\n`,
  );
}

/** One soak: `total` requests, 64 in flight, counting answers and failures. */
async function soakRun(call: () => Promise<unknown>, total: number) {
  let left = total;
  let answered = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (left-- > 0) {
        try {
          await call();
          answered++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { answered, failed };
}

async function soak(): Promise<void> {
  const rows: string[][] = [];
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-scale-'));
  const mib = (b: number) => fmt(b / 2 ** 20);
  const growth = (a: number, b: number) => (b - a) / a;
  try {
    const cases: Array<[string, string, (first: string, path: string) => Promise<EchoClient>]> = [
      ['unix-raw', 'raw node:net echo', (_f, path) => rawUnix(path)],
      ['unix-ours', 'openclaw-ipc unix', (_f, path) => oursUnix(path)],
      ['ws-raw', 'raw ws echo', (first) => rawWs(Number(first))],
      ['ws-ours', 'openclaw-ipc ws', (first) => oursWs(Number(first))],
    ];
    for (const [system, label, connect] of cases) {
      const path = join(dir, `${system}.sock`);
      const { proc, first } = await startServer(system, system.startsWith('ws') ? '' : path);
      const client = await connect(first, path);
      try {
        const call = client.prepare(64);
        await soakRun(call, SOAK_WARM);
        const warm = await memoryOf(proc);
        const t = performance.now();
        const { answered, failed } = await soakRun(call, SOAK);
        const seconds = (performance.now() - t) / 1000;
        const after = await memoryOf(proc);
        const rss = growth(warm.rss, after.rss);
        const heap = growth(warm.heapUsed, after.heapUsed);
        const ours = system.endsWith('ours');
        rows.push([
          label,
          `${answered}/${SOAK}${failed ? ` (${failed} failed)` : ''}`,
          fmt(SOAK / seconds / 1000),
          `${mib(warm.rss)} → ${mib(after.rss)} (${fmt(rss * 100, 1)} %)`,
          `${mib(warm.heapUsed)} → ${mib(after.heapUsed)} (${fmt(heap * 100, 1)} %)`,
          `${mib(warm.heapTotal)} → ${mib(after.heapTotal)}`,
          ours ? (rss <= GROWTH_TARGET && heap <= GROWTH_TARGET && answered === SOAK ? 'met' : 'missed') : '',
        ]);
      } finally {
        client.close();
        await proc.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `### Soak\n\n${SOAK_WARM} requests of warm-up, then ${SOAK}, 64 in flight, 64 B; load average ${load()}\n`,
  );
  console.log(
    table(
      [
        'server',
        'answered',
        'k req/s',
        'server RSS MiB, after warm-up → after',
        'server heap used MiB',
        'heap committed MiB',
        'growth <= 5 %, all answered',
      ],
      rows,
    ),
  );
  console.log('');
}

pinClient();
console.log(
  `bench/scale — Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}); ` +
    `load average at the start ${load()}${quick ? '; --quick' : ''}; ${describePlacement()}\n`,
);
if (wanted('connections')) await connections();
if (wanted('payload')) await payloadSweep();
if (wanted('inflight')) await inFlightSweep();
if (wanted('soak')) await soak();
console.log(`load average at the end ${load()}`);
