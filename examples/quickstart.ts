// The README's ten lines: a server and a client over a Unix socket.
// Run: node --import tsx examples/quickstart.ts   (after npm start or npm test has built the packages)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen } from 'openclaw-ipc';

const url = `unix://${join(tmpdir(), `quickstart-${process.pid}.sock`)}`;

const server = await listen(url);
server.handle('add', ({ a, b }: { a: number; b: number }) => a + b);

const client = await connect(url);
console.log(await client.request('add', { a: 2, b: 3 }, { timeout: 1000 })); // 5

client.close();
await server.close();
