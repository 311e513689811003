/**
 * The clients bench/scale measures with, one per system, each making a call that echoes a
 * payload of a given size. Ours go through the packages' public APIs; the baselines are the
 * raw echo of each transport: a node:net u32 LE length-prefixed client (unix, rdma), a raw `ws`
 * client (ws), and our ReqSocket for nng (bytes with no RPC around them: the floor our RPC over
 * nng is compared with here).
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { RpcClient } from '@openclaw-ipc/core';
import { connectNng, ReqSocket } from '@openclaw-ipc/nng';
import { rdmaTransport } from '@openclaw-ipc/rdma';
import { unixTransport } from '@openclaw-ipc/unix';
import { connectWsClient } from '@openclaw-ipc/ws';
import { WebSocket } from 'ws';
import { MAX_MESSAGE, onWholeFrames } from './procs.js';

/** One echo call with a payload of `size` bytes (made once per size, outside the timing). */
export interface EchoClient {
  prepare(size: number): () => Promise<unknown>;
  close(): void;
}

/** Options that let 64 MiB messages and 1024 requests in flight through. */
const big = { maxMessageSize: MAX_MESSAGE, timeout: 0, reconnect: false, maxInFlight: 4096 } as const;
const queues = { highWaterMark: MAX_MESSAGE, maxQueuedBytes: 4 * MAX_MESSAGE } as const;

/** Text of `size` bytes in JSON (the ws and nng dialects are JSON). */
const text = (size: number) => ({ data: 'x'.repeat(Math.max(0, size - 11)) });

function rpc(client: RpcClient, payload: (size: number) => unknown): EchoClient {
  return {
    prepare(size) {
      const p = payload(size);
      return () => client.request('echo', p);
    },
    close: () => client.close(),
  };
}

export async function oursUnix(path: string): Promise<EchoClient> {
  const client = await unixTransport.connect(new URL(`unix://${path}`), { ...big, ...queues });
  return rpc(client, (size) => new Uint8Array(size).fill(7));
}

export async function oursRdma(url: string): Promise<EchoClient> {
  const client = await rdmaTransport.connect(new URL(url), big);
  return rpc(client, (size) => new Uint8Array(size).fill(7));
}

export async function oursWs(port: number): Promise<EchoClient> {
  const client = await connectWsClient(`ws://127.0.0.1:${port}/`, {
    ...big,
    ...queues,
    heartbeatInterval: 0,
  });
  return rpc(client, text);
}

export async function oursNng(url: string): Promise<EchoClient> {
  const client = await connectNng(url, big);
  return rpc(client, text);
}

/** Our ReqSocket: nng's REQ/REP with bytes only (JSON text of the same size as the RPC's). */
export async function reqSocket(url: string): Promise<EchoClient> {
  const req = new ReqSocket({ maxMessageSize: MAX_MESSAGE });
  await req.dial(url);
  return {
    prepare(size) {
      const bytes = Buffer.from(JSON.stringify(text(size)));
      return () => req.request(bytes);
    },
    close: () => req.close(),
  };
}

/** A raw `ws` client sending JSON-RPC text and waiting for each echo (in order). */
export async function rawWs(port: number): Promise<EchoClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: MAX_MESSAGE });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waiters: Array<() => void> = [];
  ws.on('message', () => waiters.shift()!());
  return {
    prepare(size) {
      const frame = JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: text(size), id: 1 });
      return () =>
        new Promise<void>((resolve) => {
          waiters.push(resolve);
          ws.send(frame);
        });
    },
    close: () => ws.terminate(),
  };
}

/** A node:net client of u32 LE length-prefixed frames, pipelined (replies come in order). */
export async function rawUnix(path: string): Promise<EchoClient> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = netConnect(path, () => resolve(s));
    s.once('error', reject);
  });
  const waiters: Array<() => void> = [];
  onWholeFrames(socket, (_data, _end, count) => {
    for (let i = 0; i < count; i++) waiters.shift()!();
  });
  return {
    prepare(size) {
      const frame = Buffer.alloc(4 + size, 7);
      frame.writeUInt32LE(size, 0);
      return () =>
        new Promise<void>((resolve) => {
          waiters.push(resolve);
          socket.write(frame);
        });
    },
    close: () => socket.destroy(),
  };
}
