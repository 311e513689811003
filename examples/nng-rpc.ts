// The nng transport with the RPC engine: a REP server and a REQ client speaking the Rust crate
// openclaw-ipc's JSON, many requests in flight on one socket (one nng context each), a typed
// remote error, a timeout, and a server restart the client rides through.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/nng-rpc.ts
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nngTransport } from '@openclaw-ipc/nng';

const url = new URL(`nng+ipc://${join(tmpdir(), `nng-rpc-${process.pid}.ipc`)}`);
const handlers = {
  add: (p: { a: number; b: number }) => p.a + p.b,
  slow: async (p: { ms: number }) => {
    await new Promise((r) => setTimeout(r, p.ms));
    return 'done';
  },
  fail: () => {
    throw new Error('no such thing');
  },
};

let server = await nngTransport.listen(url, { handlers });
const client = await nngTransport.connect(url, { reconnect: { minDelay: 50, maxDelay: 500 } });
client.onState((state) => console.log('client is', state));

// 32 requests in flight at once, each handler sleeping 100 ms: done in about 100 ms.
const t0 = Date.now();
await Promise.all(Array.from({ length: 32 }, () => client.request('slow', { ms: 100 })));
console.log(`32 concurrent requests in ${Date.now() - t0} ms`);

console.log(await client.request('add', { a: 40, b: 2 })); // 42
console.log((await client.request('fail').catch((e) => e)).message); // no such thing
console.log((await client.request('slow', { ms: 500 }, { timeout: 50 }).catch((e) => e)).code); // TIMEOUT

// The server goes away and comes back: the client sees the connection drop (requests in flight
// then reject CLOSED; nothing is sent twice) and reconnects under its policy.
const reopened = new Promise<void>((resolve) => {
  const off = client.onState((state) => {
    if (state === 'open') {
      off();
      resolve();
    }
  });
});
await server.close();
server = await nngTransport.listen(url, { handlers });
await reopened;
console.log(await client.request('add', { a: 1, b: 1 })); // 2

client.close();
await server.close();
