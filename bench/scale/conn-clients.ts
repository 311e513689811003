/**
 * A client process of bench/scale's connection case: holds many connections to one server.
 *   conn-clients.ts ws <port> <connections> <senders> <requests>
 *   conn-clients.ts unix|unix-raw <path> <connections> <senders> <requests>
 * Opens <connections> (ws: raw `ws` clients speaking JSON-RPC text, the same for either server;
 * unix: our unix transport's client; unix-raw: a node:net length-prefixed client), sends one request on each, and prints `open` once every
 * connection has its reply. On the stdin line `send`, the first <senders> connections each make
 * <requests> sequential requests at once, and the process prints one JSON line with every
 * round trip's time in µs. On stdin's end it closes everything and exits.
 */
import { createInterface } from 'node:readline';
import type { RpcClient } from '@openclaw-ipc/core';
import { unixTransport } from '@openclaw-ipc/unix';
import { WebSocket } from 'ws';
import { rawUnix } from './clients.js';

const [kind, target, connections, senders, requests] = process.argv.slice(2) as [
  'ws' | 'unix' | 'unix-raw',
  string,
  string,
  string,
  string,
];
const N = Number(connections);
const SENDERS = Number(senders);
const REQUESTS = Number(requests);
/** Connections being opened at once (a burst of 10,000 SYNs overflows the listen backlog). */
const OPENING = 64;
const PARAMS = { data: 'x'.repeat(53) };

type Call = () => Promise<unknown>;

async function openWs(port: number): Promise<{ call: Call; close(): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waiters: Array<() => void> = [];
  ws.on('message', () => waiters.shift()?.());
  let id = 0;
  return {
    call: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: PARAMS, id: ++id }));
      }),
    close: () => ws.terminate(),
  };
}

async function openUnix(path: string): Promise<{ call: Call; close(): void }> {
  const client: RpcClient = await unixTransport.connect(new URL(`unix://${path}`), { reconnect: false });
  return { call: () => client.request('echo', PARAMS), close: () => client.close() };
}

const links: Array<{ call: Call; close(): void }> = [];
async function openRawUnix(path: string): Promise<{ call: Call; close(): void }> {
  const client = await rawUnix(path);
  return { call: client.prepare(64), close: () => client.close() };
}

const opener =
  kind === 'ws'
    ? () => openWs(Number(target))
    : kind === 'unix'
      ? () => openUnix(target)
      : () => openRawUnix(target);
const open = (i: number) => opener().then((l) => (links[i] = l));
let next = 0;
await Promise.all(
  Array.from({ length: OPENING }, async () => {
    while (next < N) {
      const i = next++;
      await open(i);
      await links[i]!.call();
    }
  }),
);
process.stdout.write('open\n');

createInterface({ input: process.stdin }).on('line', async (cmd) => {
  if (cmd !== 'send') return;
  const samples: number[] = [];
  await Promise.all(
    links.slice(0, SENDERS).map(async (link) => {
      for (let i = 0; i < REQUESTS; i++) {
        const t = performance.now();
        await link.call();
        samples.push((performance.now() - t) * 1000);
      }
    }),
  );
  process.stdout.write(`${JSON.stringify(samples.map((s) => Math.round(s)))}\n`);
});
process.stdin.on('end', () => {
  for (const l of links) l.close();
  setTimeout(() => process.exit(0), 200);
});
