/**
 * bench/unix: openclaw-ipc over a Unix socket against a raw node:net length-prefixed echo,
 * both measured in this run, each server in its own process, the clients here.
 * - sequential round trips with 64 B and 4 KiB payloads (latency, one request at a time);
 * - pipelined round trips, 64 in flight (throughput).
 * Targets: sequential latency <= 1.1x the raw echo's; pipelined throughput >= 0.9x.
 * Then the same cases against what users pick instead (node-ipc, Node's child_process IPC channel
 * in both serializations, zeromq.js Dealer/Router), every system in its own server process, in
 * interleaved rounds. Targets: sequential latency <= 0.7x the best of them, 64 in flight >= 1.5x.
 *
 * Run: node --import tsx bench/unix/bench.ts [--quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RpcClient } from '@openclaw-ipc/core';
import { unixTransport } from '@openclaw-ipc/unix';
import { chart } from '../chart.mjs';
import { describePlacement, pinClient, pinServer } from '../placement.mjs';
import { type AlternativeClient, forkClient, nodeIpcClient, zeromqClient } from './alternatives/clients.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
/** Interleaved trial pairs (raw, then ours) per case; the table shows medians over them. */
const PAIRS = quick ? 4 : 10;
const SEQ_ROUNDS = quick ? 1_000 : 3_000;
const PIPE_MS = quick ? 300 : 700;
const IN_FLIGHT = 64;
/** Untimed trials of each side before the timed pairs of a case. */
const WARMUP_TRIALS = 3;
/** Targets: sequential latency at most this times the raw echo's, pipelined throughput at least this. */
const SEQ_TARGET = 1.1;
const PIPE_TARGET = 0.9;

function startServer(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => {
      pinServer(child.pid);
      resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** A minimal raw client: writes framed bodies, resolves on each whole reply frame. */
class RawClient {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.setNoDelay?.(true);
    socket.on('data', (c: Buffer) => this.onData(c));
  }
  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  request(body: Buffer): Promise<void> {
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    body.copy(frame, 4);
    this.socket.write(frame);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    let data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    while (data.length - offset >= 4) {
      const size = data.readUInt32LE(offset);
      if (data.length - offset - 4 < size) break;
      offset += 4 + size;
      this.waiters.shift()!();
    }
    data = data.subarray(offset);
    this.chunks = data.length ? [data] : [];
    this.buffered = data.length;
  }
  close(): void {
    this.socket.destroy();
  }
}

type Call = () => Promise<unknown>;

interface Trial {
  /** µs per round trip (sequential) or round trips per second (pipelined). */
  value: number;
  /** This process's CPU time (user + system) per round trip, in µs. */
  cpuUs: number;
}

const cpuPer = (start: NodeJS.CpuUsage, n: number) => {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / n;
};

/** Mean round-trip time in µs of `rounds` calls made one after the other. */
async function sequential(call: Call, rounds: number): Promise<Trial> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await call();
  return { value: ((performance.now() - start) * 1000) / rounds, cpuUs: cpuPer(cpu, rounds) };
}

/** Round trips per second with IN_FLIGHT calls outstanding at all times. */
async function pipelined(call: Call, ms: number): Promise<Trial> {
  const cpu = process.cpuUsage();
  let done = 0;
  const deadline = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      await call();
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { value: done / ((performance.now() - start) / 1000), cpuUs: cpuPer(cpu, done) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Runs `measure` on the baseline and on ours in PAIRS interleaved pairs (a noisy neighbour then
 * hurts both alike) and returns the medians and the median of the per-pair ratios.
 */
async function compare(
  raw: () => Promise<Trial>,
  ours: () => Promise<Trial>,
): Promise<{ raw: number; ours: number; ratio: number; rawCpu: number; oursCpu: number }> {
  // Warm-up, both sides alike, until the JIT has settled: a single trial left the first pairs
  // measuring tier-up (openclaw-ipc runs more functions than the raw echo, so it is hurt more:
  // 170, 98, then ~58 µs per round trip over its first three 1000-round trials).
  for (let i = 0; i < WARMUP_TRIALS; i++) {
    await raw();
    await ours();
  }
  const r: Trial[] = [];
  const o: Trial[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    r.push(await raw());
    o.push(await ours());
    ratios.push(o.at(-1)!.value / r.at(-1)!.value);
  }
  return {
    raw: median(r.map((t) => t.value)),
    ours: median(o.map((t) => t.value)),
    ratio: median(ratios),
    rawCpu: median(r.map((t) => t.cpuUs)),
    oursCpu: median(o.map((t) => t.cpuUs)),
  };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  pinClient();
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-unix-'));
  const rawPath = join(dir, 'raw.sock');
  const ipcPath = join(dir, 'ipc.sock');
  // The server runs with this program's own flags: the built packages, or the sources with
  // --conditions=@openclaw-ipc/source (see bench/run.mjs).
  const tsx = process.execArgv;
  const servers = await Promise.all([
    startServer([join(here, 'raw-echo-server.mjs'), rawPath]),
    startServer([...tsx, join(here, 'ipc-server.ts'), ipcPath]),
  ]);
  const raw = await RawClient.open(rawPath);
  // Default options (30 s request timeout included): what users get.
  const ipc: RpcClient = await unixTransport.connect(new URL(`unix://${ipcPath}`));
  const rows: string[][] = [];
  const ratios: number[] = [];
  let failed = false;
  try {
    for (const size of [64, 4096]) {
      const payload = Buffer.alloc(size, 7);
      const bytes = new Uint8Array(payload);
      const c = await compare(
        () => sequential(() => raw.request(payload), SEQ_ROUNDS),
        () => sequential(() => ipc.request('echo', bytes), SEQ_ROUNDS),
      );
      failed ||= c.ratio > SEQ_TARGET;
      ratios.push(c.ratio);
      rows.push([
        `sequential, ${size} B`,
        `${fmt(c.raw)} µs`,
        `${fmt(c.ours)} µs`,
        `${fmt(c.ratio, 2)}x latency`,
        `<= ${SEQ_TARGET}x`,
        c.ratio <= SEQ_TARGET ? 'met' : 'missed',
        `${fmt(c.rawCpu)} / ${fmt(c.oursCpu)}`,
      ]);
    }
    for (const size of [64, 4096]) {
      const payload = Buffer.alloc(size, 7);
      const bytes = new Uint8Array(payload);
      const c = await compare(
        () => pipelined(() => raw.request(payload), PIPE_MS),
        () => pipelined(() => ipc.request('echo', bytes), PIPE_MS),
      );
      failed ||= c.ratio < PIPE_TARGET;
      ratios.push(c.ratio);
      rows.push([
        `pipelined, ${IN_FLIGHT} in flight, ${size} B`,
        `${fmt(c.raw / 1000)} k req/s`,
        `${fmt(c.ours / 1000)} k req/s`,
        `${fmt(c.ratio, 2)}x throughput`,
        `>= ${PIPE_TARGET}x`,
        c.ratio >= PIPE_TARGET ? 'met' : 'missed',
        `${fmt(c.rawCpu)} / ${fmt(c.oursCpu)}`,
      ]);
    }
  } finally {
    ipc.close();
    raw.close();
    for (const s of servers) s.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const header = [
    'case',
    'raw node:net echo',
    'openclaw-ipc unix',
    'ratio',
    'target',
    '',
    'client CPU µs/req (raw / ours)',
  ];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  console.log(
    `bench/unix — Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ${describePlacement()}\n` +
      `${PAIRS} interleaved pairs per case (${SEQ_ROUNDS} sequential round trips or ${PIPE_MS} ms pipelined ` +
      `each); medians, ratio = median of the per-pair ratios\n`,
  );
  console.log(table);
  console.log(
    `\n${chart({
      title:
        'openclaw-ipc unix / raw node:net echo: latency ratio (sequential), throughput ratio (pipelined)',
      labels: rows.map((r) => r[0]!),
      values: ratios.map((r) => Number(r.toFixed(2))),
      unit: 'x the raw echo',
      line: 1,
      lineLabel: 'the raw echo',
    })}`,
  );
  // A benchmark reports; it does not fail on a missed target (the table says met or missed).
  if (failed) console.log('\nsome targets were missed (see the table)');
  await againstAlternatives();
}

/** Rounds of the comparison with the alternatives; each system's figure is its median. */
const ALT_ROUNDS = quick ? 2 : 5;
/** Targets against the best alternative: latency at most, throughput at least these. */
const ALT_SEQ_TARGET = 0.7;
const ALT_PIPE_TARGET = 1.5;

/** Our transport and the raw echo as AlternativeClients, for the same loop as the others. */
async function oursAndRaw(dir: string): Promise<{ clients: AlternativeClient[]; servers: ChildProcess[] }> {
  const rawPath = join(dir, 'raw2.sock');
  const ipcPath = join(dir, 'ipc2.sock');
  const servers = await Promise.all([
    startServer([join(here, 'raw-echo-server.mjs'), rawPath]),
    startServer([...process.execArgv, join(here, 'ipc-server.ts'), ipcPath]),
  ]);
  const raw = await RawClient.open(rawPath);
  const ipc: RpcClient = await unixTransport.connect(new URL(`unix://${ipcPath}`));
  const buffers = new Map<number, Buffer>();
  const bytes = (size: number) => {
    let b = buffers.get(size);
    if (!b) buffers.set(size, (b = Buffer.alloc(size, 7)));
    return b;
  };
  return {
    servers,
    clients: [
      {
        name: 'openclaw-ipc unix (msgpack)',
        request: (size) => ipc.request('echo', new Uint8Array(bytes(size))).then(() => {}),
        close: () => ipc.close(),
      },
      { name: 'raw node:net echo', request: (size) => raw.request(bytes(size)), close: () => raw.close() },
    ],
  };
}

async function againstAlternatives(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-alt-'));
  const { clients: mine, servers } = await oursAndRaw(dir);
  const clients = [
    ...mine,
    await nodeIpcClient(join(dir, 'node-ipc.sock')),
    await forkClient('json'),
    await forkClient('advanced'),
    await zeromqClient(join(dir, 'zmq.sock')),
  ];
  const cases = [
    { name: 'sequential 64 B', size: 64, seq: true },
    { name: 'sequential 4 KiB', size: 4096, seq: true },
    { name: '64 in flight, 64 B', size: 64, seq: false },
    { name: '64 in flight, 4 KiB', size: 4096, seq: false },
  ];
  const trials = new Map<string, number[]>();
  const run = (c: AlternativeClient, k: (typeof cases)[number]) =>
    k.seq ? sequential(() => c.request(k.size), SEQ_ROUNDS) : pipelined(() => c.request(k.size), PIPE_MS);
  try {
    for (const c of clients) for (const k of cases) await run(c, k); // warm-up
    for (let round = 0; round < ALT_ROUNDS; round++)
      for (const k of cases)
        for (const c of clients) {
          const key = `${c.name}|${k.name}`;
          trials.set(key, [...(trials.get(key) ?? []), (await run(c, k)).value]);
        }
  } finally {
    for (const c of clients) c.close();
    for (const s of servers) s.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const value = (c: AlternativeClient, k: (typeof cases)[number]) =>
    median(trials.get(`${c.name}|${k.name}`)!);
  const [ours] = clients;
  const others = clients.slice(2);
  const cell = (c: AlternativeClient, k: (typeof cases)[number]) => {
    const v = value(c, k);
    const r = v / value(ours!, k);
    return k.seq ? `${fmt(v)} µs (${fmt(r, 2)}x)` : `${fmt(v / 1000)} k/s (${fmt(r, 2)}x)`;
  };
  console.log(
    `\nAgainst what users pick instead: ${ALT_ROUNDS} interleaved rounds, medians; in brackets each system's ` +
      'figure over ours (latency: above 1 is slower than ours; throughput: below 1 is slower)\n',
  );
  console.log(`| system | ${cases.map((k) => k.name).join(' | ')} |`);
  console.log(`| --- | ${cases.map(() => '---').join(' | ')} |`);
  for (const c of clients) console.log(`| ${c.name} | ${cases.map((k) => cell(c, k)).join(' | ')} |`);
  console.log('');
  for (const k of cases) {
    const best = others.reduce((a, b) =>
      (k.seq ? value(b, k) < value(a, k) : value(b, k) > value(a, k)) ? b : a,
    );
    const ratio = value(ours!, k) / value(best, k);
    const met = k.seq ? ratio <= ALT_SEQ_TARGET : ratio >= ALT_PIPE_TARGET;
    console.log(
      `${met ? 'met   ' : 'missed'} ${k.name}: ours ${fmt(ratio, 2)}x ${best.name}, the best alternative ` +
        `(target ${k.seq ? `<= ${ALT_SEQ_TARGET}x its latency` : `>= ${ALT_PIPE_TARGET}x its throughput`})`,
    );
  }
  for (const k of [cases[0]!, cases[2]!])
    console.log(
      `\n${chart({
        title: `Unix-socket RPC and its alternatives, ${k.name} (${k.seq ? 'µs, lower' : 'per second, higher'} is better)`,
        labels: clients.map((c) => c.name),
        values: clients.map((c) => Number(value(c, k).toFixed(k.seq ? 1 : 0))),
        unit: k.seq ? 'µs' : 'per second',
      })}`,
    );
}

await main();
