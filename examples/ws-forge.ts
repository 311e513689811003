// A forge-dialect server (wire-formats.md §3) and a session subscription.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/ws-forge.ts
import { connectWsClient, createWsServer, forgeDialect, publishEvent } from '@openclaw-ipc/ws';

const { server, address } = await createWsServer({ dialect: forgeDialect, port: 0 });
server.handle('reason', (p: { question: string }) => ({ answer: `thinking about ${p.question}` }));

const client = await connectWsClient(address, { dialect: 'forge' });
console.log(await client.request('reason', { question: 'ws' }));
await client.subscribe('session-1'); // sent as {"method":"subscribe","params":{"session_id":"session-1"}}
client.on('step', (data) => console.log('step', data));
publishEvent(server, 'session-1', 'step', { n: 1 }); // {"event_type":"step","data":{"n":1}}

await new Promise((r) => setTimeout(r, 50));
client.close();
await server.close();
