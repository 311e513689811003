// A JSON-RPC 2.0 server and client over WebSocket, with token auth and a topic.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/ws-jsonrpc.ts
import { connectWsClient, createWsServer } from '@openclaw-ipc/ws';

const { server, address } = await createWsServer({ port: 0, authToken: 'example-token' });
server.handle('add', (p: { a: number; b: number }) => p.a + p.b);

const client = await connectWsClient(address, { token: 'example-token' });
console.log('add ->', await client.request('add', { a: 2, b: 3 }));

await client.subscribe('clock');
client.on('clock', (data) => console.log('clock event', data));
server.publish('clock', { now: Date.now() });

await new Promise((r) => setTimeout(r, 50));
client.close();
await server.close();
