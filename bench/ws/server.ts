/**
 * One benchmark server per process: `server.ts <system>` prints its port on stdout once ready.
 * Systems: raw (a ws text-frame echo), ours (openclaw-ipc JSON-RPC; ours-fast with `fastPath`),
 * rpc-websockets, json-rpc-2.0.
 */
import { JSONRPCServer } from 'json-rpc-2.0';
import { Server as RpcWebSocketsServer } from 'rpc-websockets';
import { WebSocketServer } from 'ws';
import { createWsServer } from '../../packages/ws/src/index.js';

const system = process.argv[2];

async function main(): Promise<number> {
  switch (system) {
    case 'raw': {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      await new Promise((r) => wss.once('listening', r));
      return (wss.address() as { port: number }).port;
    }
    case 'ours':
    case 'ours-fast': {
      const { server, listener } = await createWsServer({
        heartbeatInterval: 0,
        fastPath: system === 'ours-fast',
      });
      server.handle('echo', (p) => p);
      return listener.port;
    }
    case 'rpc-websockets': {
      const server = new RpcWebSocketsServer({ host: '127.0.0.1', port: 0 });
      server.register('echo', (params: unknown) => params);
      await new Promise((r) => server.on('listening', r));
      return (server.wss.address() as { port: number }).port;
    }
    case 'json-rpc-2.0': {
      const rpc = new JSONRPCServer();
      rpc.addMethod('echo', (params: unknown) => params);
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      wss.on('connection', (ws) =>
        ws.on('message', (data) => {
          rpc.receive(JSON.parse(data.toString())).then((response) => {
            if (response) ws.send(JSON.stringify(response));
          });
        }),
      );
      await new Promise((r) => wss.once('listening', r));
      return (wss.address() as { port: number }).port;
    }
    default:
      throw new Error(`unknown system ${system}`);
  }
}

main().then(
  (port) => process.stdout.write(`${port}\n`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
// Exit cleanly on a signal so that --cpu-prof can write its profile.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
