/**
 * Our JSON-RPC extensions (the request members `timeoutMs`, …, and `$/cancelRequest`'s
 * `reason`) against an independent JSON-RPC server, json-rpc-2.0's JSONRPCServer behind a plain
 * `ws` server: it answers our requests as before and takes our cancel as an unknown notification.
 */
import type { AddressInfo } from 'node:net';
import { JSONRPCServer } from 'json-rpc-2.0';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connectWsClient } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function peer() {
  const rpc = new JSONRPCServer();
  rpc.addMethod('add', ({ a, b }: { a: number; b: number }) => a + b);
  rpc.addMethod('never', () => new Promise(() => {}));
  const frames: unknown[] = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (socket) => {
    socket.on('message', async (data) => {
      const request = JSON.parse(String(data));
      frames.push(request);
      const reply = await rpc.receive(request);
      if (reply) socket.send(JSON.stringify(reply));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  cleanups.push(() => new Promise((r) => wss.close(r)));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, frames };
}

describe('our JSON-RPC client against json-rpc-2.0', () => {
  it('numbers its requests with JSON numbers, which the peer answers', async () => {
    const { url, frames } = await peer();
    const client = await connectWsClient(url, { reconnect: false });
    cleanups.push(() => client.close());
    expect(await Promise.all([1, 2, 3].map((n) => client.request('add', { a: n, b: n })))).toEqual([2, 4, 6]);
    // Numbers, not strings: V8's JSON.parse interns string values of up to 10 characters, so a
    // Node server would add a string-table entry for every "id":"123456" it reads.
    expect(frames.map((f) => (f as { id: unknown }).id)).toEqual([1, 2, 3]);
  });
});

describe('our JSON-RPC extensions against json-rpc-2.0', () => {
  it('a request with timeoutMs is answered as before; a timed-out request sends a cancel the peer ignores', async () => {
    const { url, frames } = await peer();
    const client = await connectWsClient(url, { reconnect: false });
    cleanups.push(() => client.close());
    expect(await client.request('add', { a: 2, b: 3 }, { timeout: 5000 })).toBe(5);
    expect(frames[0]).toMatchObject({ method: 'add', timeoutMs: 5000 });
    await expect(client.request('never', {}, { timeout: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect.poll(() => frames.length).toBe(3);
    expect(frames[2]).toEqual({
      jsonrpc: '2.0',
      method: '$/cancelRequest',
      params: { id: 2, reason: 'TIMEOUT' },
    });
    // The peer is still fine.
    expect(await client.request('add', { a: 1, b: 1 })).toBe(2);
  });
});
