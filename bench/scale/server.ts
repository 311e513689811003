/**
 * The server processes of bench/scale, one system each:
 *   server.ts ws-ours                 openclaw-ipc JSON-RPC over ws (createWsServer), `echo`
 *   server.ts ws-raw                  a raw `ws` server echoing each message back
 *   server.ts unix-ours <path>        openclaw-ipc over a Unix socket, `echo`
 *   server.ts unix-raw <path>         node:net, u32 LE length-prefixed frames echoed as they are
 *   server.ts nng-ours <url>          openclaw-ipc RPC over nng REQ/REP, `echo`
 *   server.ts nng-req <url>           our RepSocket echoing each request (64 contexts)
 *   server.ts rdma-shm|rdma-cma <url> openclaw-ipc over rdma (rendezvous for large payloads), `echo`
 * Prints its address (a ws port, or `ready`) on the first line. Then reads commands on stdin,
 * one a line: `mem` answers one JSON line with the process's memory after full GCs (run with
 * --expose-gc): { rss, heapTotal, heapUsed, external } in bytes.
 * Message limits are raised to MAX_MESSAGE (payload sweep up to 64 MiB) through the documented
 * options; connection limits to MAX_CONNECTIONS.
 */
import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { WebSocketServer } from 'ws';
import { MAX_CONNECTIONS, MAX_MESSAGE, onWholeFrames } from './procs.js';

const [system, address] = process.argv.slice(2) as [string, string | undefined];
const echo = { echo: (p: unknown) => p };
/**
 * Queue limits for the large payloads (a 64 MiB reply must fit under the high-water mark), and
 * room for the in-flight sweep's 1024 requests at once (maxConcurrent, default 256).
 */
const large = {
  maxMessageSize: MAX_MESSAGE,
  highWaterMark: MAX_MESSAGE,
  maxQueuedBytes: 4 * MAX_MESSAGE,
  maxConcurrent: 2048,
};

async function start(): Promise<string> {
  switch (system) {
    case 'ws-ours': {
      const { createWsServer } = await import('@openclaw-ipc/ws');
      const { listener } = await createWsServer({
        handlers: echo,
        maxConnections: MAX_CONNECTIONS,
        ...large,
      });
      return String(listener.port);
    }
    case 'ws-raw': {
      const wss = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        perMessageDeflate: false,
        maxPayload: MAX_MESSAGE,
        clientTracking: false,
      });
      wss.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('error', () => {});
      });
      await new Promise((r) => wss.once('listening', r));
      return String((wss.address() as { port: number }).port);
    }
    case 'unix-ours': {
      const { unixTransport } = await import('@openclaw-ipc/unix');
      await unixTransport.listen(new URL(`unix://${address}`), {
        handlers: echo,
        maxConnections: MAX_CONNECTIONS,
        ...large,
      });
      return 'ready';
    }
    case 'unix-raw':
      try {
        unlinkSync(address!);
      } catch {}
      await new Promise<void>((resolve) => createServer(rawEcho).listen(address!, resolve));
      return 'ready';
    case 'nng-ours': {
      const { listenNng } = await import('@openclaw-ipc/nng');
      await listenNng(address!, { handlers: echo, maxMessageSize: MAX_MESSAGE, maxConcurrent: 2048 });
      return 'ready';
    }
    case 'nng-req': {
      const { RepSocket } = await import('@openclaw-ipc/nng');
      const rep = new RepSocket({ maxMessageSize: MAX_MESSAGE });
      rep.listen(address!);
      rep.serve((data, reply) => reply(data), { concurrency: 64 });
      return 'ready';
    }
    case 'rdma-shm':
    case 'rdma-cma': {
      const { rdmaTransport } = await import('@openclaw-ipc/rdma');
      await rdmaTransport.listen(new URL(address!), {
        handlers: echo,
        maxMessageSize: MAX_MESSAGE,
        maxConcurrent: 2048,
      });
      return 'ready';
    }
    default:
      throw new Error(`unknown system ${system}`);
  }
}

/** node:net length-prefixed echo: whole frames written back as they came. */
function rawEcho(socket: import('node:net').Socket): void {
  onWholeFrames(socket, (data, end) => socket.write(data.subarray(0, end)));
  socket.on('error', () => {});
}

/**
 * Memory after full GCs, twice with a pause between: the pause lets freed pages go back to the
 * system (V8 and malloc release them lazily), so that RSS is not what the last burst left.
 */
async function memory(): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) gc?.();
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 2; i++) gc?.();
  const m = process.memoryUsage();
  return JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external });
}

start().then(
  (line) => {
    process.stdout.write(`${line}\n`);
    createInterface({ input: process.stdin }).on('line', (cmd) => {
      if (cmd === 'mem') void memory().then((m) => process.stdout.write(`${m}\n`));
    });
    process.stdin.on('end', () => process.exit(0));
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
