// The unix transport on its own: MessagePack IpcMessages over a Unix socket, many requests in
// flight, an event, and a client that reconnects by itself when the server comes back.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/unix-echo.ts
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixTransport } from '@openclaw-ipc/unix';

const url = new URL(`unix://${join(tmpdir(), `unix-echo-${process.pid}.sock`)}`);

let server = await unixTransport.listen(url, { handlers: { echo: (p) => p } });
const client = await unixTransport.connect(url, { reconnect: { minDelay: 50, maxDelay: 500 } });
client.onState((state) => console.log('client is', state));

const replies = await Promise.all([1, 2, 3].map((n) => client.request('echo', { n })));
console.log(replies); // [ { n: 1 }, { n: 2 }, { n: 3 } ]

client.on('hello', (data) => console.log('event', data));
server.emit('hello', { from: 'server' });
await new Promise((r) => setTimeout(r, 50));

// The server goes away and comes back on the same path: the client reconnects on its own.
await server.close();
server = await unixTransport.listen(url, { handlers: { echo: (p) => p } });
await new Promise<void>((resolve) => {
  const off = client.onState((state) => {
    if (state !== 'open') return;
    off();
    resolve();
  });
});
console.log(await client.request('echo', 'after restart'));

client.close();
await server.close();
