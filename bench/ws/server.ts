/**
 * One benchmark server per process: `server.ts <system>` prints its port on stdout once ready.
 * Systems: raw (a ws text-frame echo), ours (openclaw-ipc JSON-RPC; ours-fast with `fastPath`),
 * rpc-websockets, json-rpc-2.0, jayson and vscode-jsonrpc (both wired to ws as their docs describe
 * for a custom transport: see ws-wiring.ts).
 */

import { createWsServer } from '@openclaw-ipc/ws';
import jayson from 'jayson';
import { JSONRPCServer } from 'json-rpc-2.0';
import { Server as RpcWebSocketsServer } from 'rpc-websockets';
import { createMessageConnection } from 'vscode-jsonrpc';
import { WebSocketServer } from 'ws';
import { WsMessageReader, WsMessageWriter } from './ws-wiring.js';

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
    case 'jayson': {
      const rpc = new jayson.Server({
        echo: (params: unknown, callback: (e: null, r: unknown) => void) => callback(null, params),
      });
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      wss.on('connection', (ws) =>
        ws.on('message', (data) => {
          rpc.call(JSON.parse(data.toString()), (_err: unknown, response: unknown) => {
            if (response) ws.send(JSON.stringify(response));
          });
        }),
      );
      await new Promise((r) => wss.once('listening', r));
      return (wss.address() as { port: number }).port;
    }
    case 'vscode-jsonrpc': {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      wss.on('connection', (ws) => {
        const connection = createMessageConnection(new WsMessageReader(ws), new WsMessageWriter(ws));
        connection.onRequest('echo', (params: unknown) => params);
        connection.listen();
      });
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
