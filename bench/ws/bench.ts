/**
 * bench/ws: openclaw-ipc's JSON-RPC over WebSocket against rpc-websockets, json-rpc-2.0, jayson
 * and vscode-jsonrpc (the last three over ws, wired as their docs describe for a custom
 * transport), and a raw ws text-frame echo, all measured in this run, each server in its own
 * process, the clients here. 64-byte params.
 * - sequential round trips (latency, one request at a time);
 * - 64 requests in flight (throughput).
 * Ours runs three times: with default options (public APIs of Node and ws only; both ends ours,
 * so they coalesce the frames of a tick into one message), with `coalesce: false` (as against a
 * peer that is not ours: one message per frame), and with the opt-in `fastPath`
 * (packages/ws/src/internals.ts).
 * Targets: >= 2x the best library's throughput at 64 in flight; sequential latency <= 1.2x
 * the raw ws echo's.
 * CPU per request is given for the client (this process) and the server process (from
 * /proc/<pid>/stat, Linux only, 10 ms ticks): on a shared machine it moves less than time does.
 *
 * Run: node --import tsx bench/ws/bench.ts [--quick]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectWsClient, type WsConnectOptions } from '@openclaw-ipc/ws';
import jayson from 'jayson';
import { JSONRPCClient } from 'json-rpc-2.0';
import { Client as RpcWebSocketsClient } from 'rpc-websockets';
import { createMessageConnection } from 'vscode-jsonrpc';
import { WebSocket } from 'ws';
import { chart } from '../chart.mjs';
import { describePlacement, pinClient, pinServer } from '../placement.mjs';
import { WsMessageReader, WsMessageWriter } from './ws-wiring.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const SEQ_ROUNDS = quick ? 3_000 : 20_000;
const PIPE_SECONDS = quick ? 1 : 3;
const IN_FLIGHT = 64;
/** Params whose JSON is 64 bytes: {"data":"xxx…"} */
const PARAMS = { data: 'x'.repeat(64 - '{"data":""}'.length) };

type Call = () => Promise<unknown>;
interface System {
  name: string;
  server: string;
  client(port: number): Promise<{ call: Call; close(): void }>;
}

function startServer(system: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...process.execArgv, join(here, 'server.ts'), system], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d) => {
      pinServer(child.pid);
      resolve({ child, port: Number(String(d).trim()) });
    });
    child.once('exit', (code) => reject(new Error(`${system} server exited with ${code}`)));
  });
}

function openWs(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Our JSON-RPC client against the server on `port`, with `options` besides the bench's own. */
async function oursClient(port: number, options: WsConnectOptions) {
  const client = await connectWsClient(`ws://127.0.0.1:${port}/`, {
    heartbeatInterval: 0,
    maxInFlight: 4096,
    ...options,
  });
  return { call: () => client.request('echo', PARAMS), close: () => client.close() };
}

const systems: System[] = [
  {
    name: 'raw ws echo',
    server: 'raw',
    async client(port) {
      const ws = await openWs(port);
      const waiters: Array<() => void> = [];
      ws.on('message', () => waiters.shift()!());
      const text = JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: PARAMS, id: 1 });
      return {
        call: () =>
          new Promise<void>((resolve) => {
            waiters.push(resolve);
            ws.send(text);
          }),
        close: () => ws.terminate(),
      };
    },
  },
  {
    name: 'openclaw-ipc (jsonrpc)',
    server: 'ours',
    client: (port) => oursClient(port, {}),
  },
  {
    // What a client of ours costs against a peer that is not openclaw-ipc, and a server of ours
    // with clients that are not: one WebSocket message per frame.
    name: 'openclaw-ipc (jsonrpc), coalesce: false',
    server: 'ours',
    client: (port) => oursClient(port, { coalesce: false }),
  },
  {
    name: 'openclaw-ipc (jsonrpc), fastPath',
    server: 'ours-fast',
    client: (port) => oursClient(port, { fastPath: true }),
  },
  {
    name: 'rpc-websockets',
    server: 'rpc-websockets',
    async client(port) {
      const client = new RpcWebSocketsClient(`ws://127.0.0.1:${port}/`, { reconnect: false });
      await new Promise((r) => client.once('open', r));
      return { call: () => client.call('echo', PARAMS), close: () => client.close() };
    },
  },
  {
    name: 'json-rpc-2.0 over ws',
    server: 'json-rpc-2.0',
    async client(port) {
      const ws = await openWs(port);
      const client = new JSONRPCClient((request) => {
        ws.send(JSON.stringify(request));
      });
      ws.on('message', (data) => client.receive(JSON.parse(data.toString())));
      return { call: () => client.request('echo', PARAMS), close: () => ws.terminate() };
    },
  },
  {
    name: 'jayson over ws',
    server: 'jayson',
    async client(port) {
      const ws = await openWs(port);
      // jayson's transport-agnostic client hands over the request text and takes the response
      // text; responses are routed to their request by id.
      const waiting = new Map<number, (err: null, text: string) => void>();
      let sending: ((err: null, text: string) => void) | undefined;
      const client = jayson.client.browser((_text: string, callback: (err: null, text: string) => void) => {
        sending = callback;
        ws.send(_text);
      }, {});
      ws.on('message', (data) => {
        const text = data.toString();
        const id = JSON.parse(text).id as number;
        const callback = waiting.get(id)!;
        waiting.delete(id);
        callback(null, text);
      });
      let next = 0;
      return {
        call: () =>
          new Promise((resolve, reject) => {
            const id = next++;
            client.request('echo', PARAMS, id, (err: unknown, response: { result: unknown }) =>
              err ? reject(err) : resolve(response.result),
            );
            waiting.set(id, sending!);
          }),
        close: () => ws.terminate(),
      };
    },
  },
  {
    name: 'vscode-jsonrpc over ws',
    server: 'vscode-jsonrpc',
    async client(port) {
      const ws = await openWs(port);
      const connection = createMessageConnection(new WsMessageReader(ws), new WsMessageWriter(ws));
      connection.listen();
      return {
        call: () => connection.sendRequest('echo', PARAMS),
        close: () => {
          connection.dispose();
          ws.terminate();
        },
      };
    },
  },
];

/** CPU time (user + system) of another process in µs, or NaN where /proc is not there. */
function processCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Measures CPU per request of this process and of the server while `run` does `count()` requests. */
async function withCpu<T>(
  serverPid: number,
  run: () => Promise<T>,
  count: (result: T) => number,
): Promise<T & { clientCpuUs: number; serverCpuUs: number }> {
  const server0 = processCpuUs(serverPid);
  const client0 = process.cpuUsage();
  const result = await run();
  const client = process.cpuUsage(client0);
  const n = count(result);
  return {
    ...result,
    clientCpuUs: (client.user + client.system) / n,
    serverCpuUs: (processCpuUs(serverPid) - server0) / n,
  };
}

async function sequential(call: Call): Promise<{ meanUs: number; p50Us: number; p99Us: number }> {
  const samples = new Float64Array(SEQ_ROUNDS);
  const start = process.hrtime.bigint();
  for (let i = 0; i < SEQ_ROUNDS; i++) {
    const t = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  const total = Number(process.hrtime.bigint() - start) / 1000;
  samples.sort();
  return {
    meanUs: total / SEQ_ROUNDS,
    p50Us: samples[Math.floor(SEQ_ROUNDS / 2)]!,
    p99Us: samples[Math.floor(SEQ_ROUNDS * 0.99)]!,
  };
}

async function warmUp(call: Call): Promise<void> {
  for (let i = 0; i < Math.min(2000, SEQ_ROUNDS / 5); i++) await call();
  const warm = Date.now() + 300;
  const warmers = Array.from({ length: IN_FLIGHT }, async () => {
    while (Date.now() < warm) await call();
  });
  await Promise.all(warmers);
}

async function pipelined(call: Call): Promise<{ opsPerSec: number; done: number }> {
  let done = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      await call();
      done++;
    }
  };
  const start = process.hrtime.bigint();
  const workers = Array.from({ length: IN_FLIGHT }, worker);
  await new Promise((r) => setTimeout(r, PIPE_SECONDS * 1000));
  stop = true;
  await Promise.all(workers);
  return { opsPerSec: done / (Number(process.hrtime.bigint() - start) / 1e9), done };
}

interface Row {
  /** Best of the rounds. */
  name: string;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  /** CPU per sequential request, µs: this process, the server process. */
  seqCpu: [number, number];
  opsPerSec: number;
  /** CPU per request at 64 in flight, µs. */
  pipeCpu: [number, number];
}

const ROUNDS = quick ? 1 : 3;

async function main(): Promise<void> {
  pinClient();
  // The systems take turns, ROUNDS times; each keeps its best round, so a burst of load from
  // elsewhere on the machine does not decide the comparison.
  const best = new Map<string, Row>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const system of systems) {
      const { child, port } = await startServer(system.server);
      try {
        const client = await system.client(port);
        await warmUp(client.call);
        const seq = await withCpu(
          child.pid!,
          () => sequential(client.call),
          () => SEQ_ROUNDS,
        );
        const pipe = await withCpu(
          child.pid!,
          () => pipelined(client.call),
          (r) => r.done,
        );
        client.close();
        const prev = best.get(system.name);
        const seqRow = {
          meanUs: seq.meanUs,
          p50Us: seq.p50Us,
          p99Us: seq.p99Us,
          seqCpu: [seq.clientCpuUs, seq.serverCpuUs] as [number, number],
        };
        const pipeRow = {
          opsPerSec: pipe.opsPerSec,
          pipeCpu: [pipe.clientCpuUs, pipe.serverCpuUs] as [number, number],
        };
        best.set(system.name, {
          name: system.name,
          ...(prev && prev.meanUs < seq.meanUs ? prev : seqRow),
          ...(prev && prev.opsPerSec > pipe.opsPerSec
            ? { opsPerSec: prev.opsPerSec, pipeCpu: prev.pipeCpu }
            : pipeRow),
        });
      } finally {
        child.kill();
      }
    }
  }
  const rows = systems.map((s) => best.get(s.name)!);
  const raw = rows[0]!;
  const ours = rows.filter((r) => r.name.startsWith('openclaw-ipc'));
  const bestLibrary = rows.slice(1 + ours.length).reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
  const fmt = (n: number, d = 1) => n.toFixed(d);
  console.log(
    `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${SEQ_ROUNDS} sequential rounds, ${PIPE_SECONDS} s at ${IN_FLIGHT} in flight, 64 B params, best of ${ROUNDS} alternating rounds; load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${describePlacement()}\n`,
  );
  console.log(
    '| system | seq mean µs | seq p50 µs | seq p99 µs | seq latency vs raw | seq CPU µs/req client+server | 64-in-flight req/s | throughput vs best library | 64-in-flight CPU µs/req client+server |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const cpu = ([c, s]: [number, number]) => `${fmt(c)} + ${fmt(s)}`;
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${fmt(r.meanUs)} | ${fmt(r.p50Us)} | ${fmt(r.p99Us)} | ${fmt(r.meanUs / raw.meanUs, 2)}x | ${cpu(r.seqCpu)} | ${Math.round(r.opsPerSec)} | ${fmt(r.opsPerSec / bestLibrary.opsPerSec, 2)}x | ${cpu(r.pipeCpu)} |`,
    );
  }
  console.log(
    `\n${chart({
      title: 'WebSocket, sequential p50 round trip, µs (lower is better)',
      labels: rows.map((r) => r.name),
      values: rows.map((r) => Number(r.p50Us.toFixed(1))),
      unit: 'µs',
    })}\n\n${chart({
      title: 'WebSocket, 64 requests in flight, per second (higher is better)',
      labels: rows.map((r) => r.name),
      values: rows.map((r) => Math.round(r.opsPerSec)),
      unit: 'per second',
    })}`,
  );
  console.log('');
  for (const r of ours)
    console.log(
      `${r.name}: ${fmt(r.opsPerSec / bestLibrary.opsPerSec, 2)}x the throughput of ${bestLibrary.name} (target >= 2x); ` +
        `sequential latency ${fmt(r.meanUs / raw.meanUs, 2)}x the raw ws echo's (target <= 1.2x)`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
