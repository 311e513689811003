/**
 * bench/scale's sweeps: payload size (sequential round trips: latency and MB/s) and requests in
 * flight (throughput and p99), ours beside the raw echo of each transport, every server in its
 * own process. Systems of one row take turns, ROUNDS times; the table keeps each one's best.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EchoClient,
  oursNng,
  oursRdma,
  oursUnix,
  oursWs,
  rawUnix,
  rawWs,
  reqSocket,
} from './clients.js';
import { type LineProcess, quantile, startServer } from './procs.js';

export interface System {
  name: string;
  /** The baseline's name (a system of the same list), for ours. */
  baseline?: string;
  open(): Promise<EchoClient>;
}

/** A set of servers (one process each) and how to reach them, for the systems named. */
export async function startSystems(names: string[]): Promise<{ systems: System[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-scale-'));
  const procs: LineProcess[] = [];
  const start = async (system: string, address = '') => {
    const { proc, first } = await startServer(system, address);
    procs.push(proc);
    return first;
  };
  const all: Record<string, () => Promise<System>> = {
    'unix raw echo': async () => {
      const path = join(dir, 'raw.sock');
      await start('unix-raw', path);
      return { name: 'unix raw echo', open: () => rawUnix(path) };
    },
    unix: async () => {
      const path = join(dir, 'ours.sock');
      await start('unix-ours', path);
      return { name: 'unix', baseline: 'unix raw echo', open: () => oursUnix(path) };
    },
    'ws raw echo': async () => {
      const port = Number(await start('ws-raw'));
      return { name: 'ws raw echo', open: () => rawWs(port) };
    },
    ws: async () => {
      const port = Number(await start('ws-ours'));
      return { name: 'ws', baseline: 'ws raw echo', open: () => oursWs(port) };
    },
    'nng ReqSocket': async () => {
      const url = `ipc://${join(dir, 'req.ipc')}`;
      await start('nng-req', url);
      return { name: 'nng ReqSocket', open: () => reqSocket(url) };
    },
    nng: async () => {
      const url = `ipc://${join(dir, 'rpc.ipc')}`;
      await start('nng-ours', url);
      return { name: 'nng', baseline: 'nng ReqSocket', open: () => oursNng(url) };
    },
    'rdma+shm': async () => {
      const url = `rdma+shm://${join(dir, 'shm.sock')}`;
      await start('rdma-shm', url);
      return { name: 'rdma+shm', baseline: 'unix raw echo', open: () => oursRdma(url) };
    },
    'rdma+cma': async () => {
      const url = `rdma+cma://${join(dir, 'cma.sock')}`;
      await start('rdma-cma', url);
      return { name: 'rdma+cma', baseline: 'unix raw echo', open: () => oursRdma(url) };
    },
  };
  const systems: System[] = [];
  for (const name of names) systems.push(await all[name]!());
  return {
    systems,
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mean µs per sequential round trip of `call`, over at least `minOps` calls and `ms` milliseconds. */
export async function sequentialUs(
  call: () => Promise<unknown>,
  ms: number,
  minOps: number,
): Promise<number> {
  await call();
  let n = 0;
  const start = performance.now();
  while (n < minOps || performance.now() - start < ms) {
    await call();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

/** Round trips per second and p99 µs with `inFlight` calls outstanding for `ms` milliseconds. */
export async function inFlightRun(
  call: () => Promise<unknown>,
  inFlight: number,
  ms: number,
): Promise<{ perSec: number; p99Us: number; done: number }> {
  const samples: number[] = [];
  const deadline = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await call();
        samples.push((performance.now() - t) * 1000);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { perSec: samples.length / seconds, p99Us: quantile(samples, 0.99), done: samples.length };
}
