// Timeouts and cancellation: the caller gives up, and the handler sees its signal abort.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type IpcError, listen, sleep } from 'openclaw-ipc';

const url = `unix://${join(tmpdir(), `cancel-${process.pid}.sock`)}`;
const server = await listen(url);
server.handle('slow', async (_params, ctx) => {
  try {
    await sleep(10_000, ctx.signal);
    return 'done';
  } catch (err) {
    console.log(`server: handler stopped (${(err as IpcError).code})`);
    throw err;
  }
});

const client = await connect(url, { timeout: 5_000 });

// A per-call timeout.
const timedOut = await client.request('slow', {}, { timeout: 100 }).catch((e: IpcError) => e.code);
console.log(`client: ${timedOut}`);

// An AbortSignal: rejects at once here, and the MessagePack dialect tells the server to stop.
const controller = new AbortController();
setTimeout(() => controller.abort(), 100);
const aborted = await client
  .request('slow', {}, { signal: controller.signal })
  .catch((e: IpcError) => e.code);
console.log(`client: ${aborted}`);

await sleep(50);
client.close();
await server.close();
