// nng benchmark: REQ/REP round trips over ipc:// between two processes, in one run, against
// (a) a C program on libnng (the floor), (b) zeromq.js Request/Reply, (c) a raw node:net echo.
// A second C row runs the same exchange with each side answering through an event-loop thread
// (a queue, an eventfd and epoll, as libuv): the least any binding to Node's JS thread adds.
//
//   node --import tsx bench/nng/bench.ts [--quick] [--rounds=3]
//
// Prints one table: sequential round-trip latency (64 B, 4 KiB) and throughput with 64
// requests in flight, each with its ratio to the C floor. Every row runs once per round, the
// rounds one after another (default 3, --quick 1), and each figure is the row's best of them:
// on a shared machine one slow round would otherwise decide a ratio. The client and the servers
// are pinned to CPUs (bench/placement.mjs; --placement=split|same|free).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectNng, ReqSocket } from '@openclaw-ipc/nng';
import { Request } from 'zeromq';
import { chart } from '../chart.mjs';
import { describePlacement, pinClient, pinServer } from '../placement.mjs';
import { buildFloor } from './floor-build.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const SEQ_N = quick ? 2_000 : 20_000;
const FLIGHT_N = quick ? 20_000 : 200_000;
const INFLIGHT = 64;
const roundsFlag = process.argv.find((a) => a.startsWith('--rounds='));
const ROUNDS = roundsFlag ? Math.max(1, Number(roundsFlag.slice(9)) || 1) : quick ? 1 : 3;
const dir = mkdtempSync(join(tmpdir(), 'nng-bench-'));
let used = 0;
/** A path in `dir` no earlier row or round has used. */
const fresh = (name: string) => join(dir, `${++used}-${name}`);

/** Starts a server process and waits for its "ready" line. */
async function startServer(cmd: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) {
        pinServer(child.pid);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`)));
  });
  return child;
}

const nodeServer = (kind: string, address: string) =>
  startServer(process.execPath, [
    ...process.execArgv, // this program's flags: built packages or sources (bench/run.mjs)
    join(here, 'servers.ts'),
    kind,
    address,
  ]);

async function stop(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Runs `once` n times in a row, after a warm-up; µs per call. */
async function sequential(n: number, once: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(1000, n / 10); i++) await once();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

/** `lanes` loops share n calls; round trips per second. */
async function inFlight(n: number, lanes: number, once: (lane: number) => Promise<unknown>): Promise<number> {
  let left = Math.min(5000, n / 10);
  const run = async (lane: number) => {
    while (left-- > 0) await once(lane);
  };
  await Promise.all(Array.from({ length: lanes }, (_, i) => run(i)));
  left = n;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: lanes }, (_, i) => run(i)));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

interface Row {
  name: string;
  seq64?: number;
  seq4k?: number;
  flight?: number;
}

async function floorRow(bin: string, hop: boolean): Promise<Row> {
  const url = `ipc://${fresh(hop ? 'floor-hop.ipc' : 'floor.ipc')}`;
  const server = await startServer(bin, [hop ? 'server-hop' : 'server', url]);
  const run = (size: number, n: number, inflight: number) => {
    const args = ['client', url, String(size), String(n), String(inflight)];
    if (hop) args.push('hop');
    const [secs, count] = execFileSync(bin, args).toString().trim().split(' ').map(Number);
    return { secs: secs!, count: count! };
  };
  try {
    run(64, 1000, 1); // warm-up
    const s64 = run(64, SEQ_N, 1);
    const s4k = run(4096, SEQ_N, 1);
    const fl = run(64, FLIGHT_N, INFLIGHT);
    return {
      name: hop ? 'C on libnng, each side through a loop thread' : 'C on libnng (floor)',
      seq64: (s64.secs * 1e6) / s64.count,
      seq4k: (s4k.secs * 1e6) / s4k.count,
      flight: fl.count / fl.secs,
    };
  } finally {
    await stop(server);
  }
}

async function oursRow(): Promise<Row> {
  const url = `ipc://${fresh('ours.ipc')}`;
  const server = await nodeServer('nng', url);
  const req = new ReqSocket();
  try {
    await req.dial(url);
    const b64 = Buffer.alloc(64, 'x');
    const b4k = Buffer.alloc(4096, 'x');
    return {
      name: 'openclaw-ipc nng (ReqSocket)',
      seq64: await sequential(SEQ_N, () => req.request(b64)),
      seq4k: await sequential(SEQ_N, () => req.request(b4k)),
      flight: await inFlight(FLIGHT_N, INFLIGHT, () => req.request(b64)),
    };
  } finally {
    req.close();
    await stop(server);
  }
}

async function rpcRow(): Promise<Row> {
  const url = `ipc://${fresh('rpc.ipc')}`;
  const server = await nodeServer('rpc', url);
  const client = await connectNng(url, { timeout: 0 });
  try {
    const p64 = { s: 'x'.repeat(12) }; // a 64-byte request frame carries ~100 B of JSON around it
    const p4k = { s: 'x'.repeat(4096 - 90) };
    return {
      name: 'openclaw-ipc RPC over nng (JSON)',
      seq64: await sequential(SEQ_N, () => client.request('echo', p64)),
      seq4k: await sequential(SEQ_N, () => client.request('echo', p4k)),
      flight: await inFlight(FLIGHT_N, INFLIGHT, () => client.request('echo', p64)),
    };
  } finally {
    client.close();
    await stop(server);
  }
}

async function zmqRow(): Promise<Row> {
  const url = `ipc://${fresh('zmq.ipc')}`;
  const server = await nodeServer('zmq', url);
  // A zeromq Request socket carries one request at a time: 64 in flight need 64 sockets.
  const socks = Array.from({ length: INFLIGHT }, () => new Request());
  try {
    for (const s of socks) s.connect(url);
    const call = async (s: Request, buf: Buffer) => {
      await s.send(buf);
      return (await s.receive())[0];
    };
    const b64 = Buffer.alloc(64, 'x');
    const b4k = Buffer.alloc(4096, 'x');
    return {
      name: 'zeromq.js Request/Reply',
      seq64: await sequential(SEQ_N, () => call(socks[0]!, b64)),
      seq4k: await sequential(SEQ_N, () => call(socks[0]!, b4k)),
      flight: await inFlight(FLIGHT_N, INFLIGHT, (lane) => call(socks[lane]!, b64)),
    };
  } finally {
    for (const s of socks) s.close();
    await stop(server);
  }
}

/** A u32 LE length-prefixed echo client on one node:net connection (pipelined). */
async function netRow(): Promise<Row> {
  const path = fresh('net.sock');
  const server = await nodeServer('net', path);
  const sock = connect(path);
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  const waiting: ((b: Buffer) => void)[] = [];
  let pending = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    while (pending.length >= 4) {
      const len = pending.readUInt32LE(0);
      if (pending.length < 4 + len) break;
      const frame = pending.subarray(4, 4 + len);
      pending = pending.subarray(4 + len);
      waiting.shift()!(frame);
    }
  });
  const call = (payload: Buffer) =>
    new Promise<Buffer>((resolve) => {
      const head = Buffer.alloc(4);
      head.writeUInt32LE(payload.length);
      waiting.push(resolve);
      sock.write(Buffer.concat([head, payload]));
    });
  try {
    const b64 = Buffer.alloc(64, 'x');
    const b4k = Buffer.alloc(4096, 'x');
    return {
      name: 'node:net echo (Unix socket)',
      seq64: await sequential(SEQ_N, () => call(b64)),
      seq4k: await sequential(SEQ_N, () => call(b4k)),
      flight: await inFlight(FLIGHT_N, INFLIGHT, () => call(b64)),
    };
  } finally {
    sock.destroy();
    await stop(server);
  }
}

/** Ratios to the floor (C) and, after the second row, to the C that goes through a loop thread. */
function table(rows: Row[]): string {
  const [floor, loop] = [rows[0]!, rows[1]!];
  const ratios = (i: number, v: number, key: keyof Omit<Row, 'name'>) => {
    const r = `${(v / floor[key]!).toFixed(2)}x`;
    return i < 2 ? r : `${r}; ${(v / loop[key]!).toFixed(2)}x loop`;
  };
  const lat = (i: number, r: Row, key: 'seq64' | 'seq4k') =>
    r[key] === undefined ? 'n/a' : `${r[key].toFixed(1)} µs (${ratios(i, r[key], key)})`;
  const thr = (i: number, r: Row) =>
    r.flight === undefined
      ? 'n/a'
      : `${Math.round(r.flight).toLocaleString('en-US')}/s (${ratios(i, r.flight, 'flight')})`;
  const lines = [
    '| over ipc://, two processes | sequential 64 B | sequential 4 KiB | 64 in flight, 64 B |',
    '| --- | --- | --- | --- |',
    ...rows.map((r, i) => `| ${r.name} | ${lat(i, r, 'seq64')} | ${lat(i, r, 'seq4k')} | ${thr(i, r)} |`),
  ];
  return lines.join('\n');
}

/** Issue 15's targets, each against rows of this run: "held" or "missed", with the ratio. */
function targets(rows: Row[]): string {
  const by = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))!;
  const [loop, req, rpc, zmq] = [
    by('C on libnng, each'),
    by('openclaw-ipc nng'),
    by('openclaw-ipc RPC'),
    by('zeromq'),
  ];
  const check = (
    what: string,
    v: number | undefined,
    base: number | undefined,
    op: '<=' | '>=',
    limit: number,
  ) => {
    if (v === undefined || base === undefined) return `| ${what} | n/a | ${op} ${limit}x | n/a |`;
    const ratio = v / base;
    const held = op === '<=' ? ratio <= limit : ratio >= limit;
    return `| ${what} | ${ratio.toFixed(2)}x | ${op} ${limit}x | ${held ? 'held' : 'missed'} |`;
  };
  return [
    '| target (issue 15) | this run | wanted | |',
    '| --- | --- | --- | --- |',
    check('ReqSocket sequential 64 B / zeromq.js', req.seq64, zmq.seq64, '<=', 1.0),
    check('ReqSocket sequential 64 B / C loop pair', req.seq64, loop.seq64, '<=', 1.1),
    check('ReqSocket 64 in flight / zeromq.js', req.flight, zmq.flight, '>=', 1.5),
    check('ReqSocket 64 in flight / C loop pair', req.flight, loop.flight, '>=', 0.9),
    check('RPC sequential 64 B / ReqSocket', rpc.seq64, req.seq64, '<=', 1.15),
    check('RPC 64 in flight / ReqSocket', rpc.flight, req.flight, '>=', 0.75),
  ].join('\n');
}

const fewest = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
const most = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

async function main(): Promise<void> {
  pinClient();
  const bin = buildFloor();
  const makers = [() => floorRow(bin, false), () => floorRow(bin, true), oursRow, rpcRow, zmqRow, netRow];
  const rows: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, make] of makers.entries()) {
      const row = await make();
      const best = rows[i];
      if (best === undefined) rows.push(row);
      else {
        best.seq64 = fewest(best.seq64, row.seq64);
        best.seq4k = fewest(best.seq4k, row.seq4k);
        best.flight = most(best.flight, row.flight);
      }
      process.stderr.write(`round ${round}/${ROUNDS} done: ${row.name}\n`);
    }
  }
  console.log(
    `node ${process.version}, ${SEQ_N} sequential round trips, ${FLIGHT_N} with ${INFLIGHT} in flight; ` +
      `best of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, the rows alternating; ${describePlacement()}`,
  );
  console.log(
    'latency: lower is better; throughput: higher is better; ratios to the C floor and ("loop") to the C\n' +
      'that answers through an event-loop thread on each side\n',
  );
  console.log(table(rows));
  console.log(`\n${targets(rows)}`);
  const shown = rows.filter((r) => r.seq64 !== undefined && r.flight !== undefined);
  console.log(
    `\n${chart({
      title: 'nng over ipc://, sequential 64 B round trip, µs (lower is better)',
      labels: shown.map((r) => r.name),
      values: shown.map((r) => r.seq64!),
      unit: 'µs',
    })}\n\n${chart({
      title: 'nng over ipc://, 64 in flight, round trips per second (higher is better)',
      labels: shown.map((r) => r.name),
      values: shown.map((r) => Math.round(r.flight!)),
      unit: 'per second',
    })}`,
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
