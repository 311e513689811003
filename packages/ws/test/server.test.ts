import type { IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  connectWs,
  connectWsClient,
  createWsServer,
  GatewayClient,
  type WsServerOptions,
  wsTransport,
} from '../src/index.js';
import { LINK_MODES } from './util/modes.js';
import { delay, onCleanup, rawClient, until } from './util/raw.js';

async function startServer(options: WsServerOptions = {}) {
  const ws = await createWsServer({ heartbeatInterval: 0, ...options });
  onCleanup(() => ws.server.close());
  ws.server.handle('echo', (p) => p);
  return ws;
}

const rpc = (method: string, params: unknown, id: number | string = 1) =>
  JSON.stringify({ jsonrpc: '2.0', method, params, id });

describe.each(LINK_MODES)('ws server and client, $name', ({ fastPath }) => {
  const start = (options: WsServerOptions = {}) => startServer({ fastPath, ...options });

  describe('authentication', () => {
    it('runs no handler for an unauthenticated connection, whatever it calls', async () => {
      const { server, address } = await start({ authToken: 'tok' });
      const ran: string[] = [];
      server.handle('secret', () => ran.push('secret'));
      server.on('poke', () => ran.push('poke-listener'));
      server.handle('notified', () => ran.push('notified'));
      const c = await rawClient(address);
      for (const [i, m] of ['secret', 'echo', 'missing', '$/subscribe'].entries()) {
        c.send(rpc(m, { topic: 't' }, i));
        const reply = JSON.parse(await c.next());
        expect(reply.error.data.code).toBe('AUTH');
        expect(reply.error.message).toBe('Authentication required');
      }
      c.send('{"jsonrpc":"2.0","method":"notified","params":{}}');
      c.send(rpc('authenticate', { token: 'tok ' }, 'a'));
      expect(JSON.parse(await c.next()).error.message).toBe('Invalid authentication token');
      server.publish('t', {});
      expect(ran).toEqual([]);
      c.send(rpc('authenticate', { token: 'tok' }, 'b'));
      expect(await c.next()).toBe('{"jsonrpc":"2.0","result":{"authenticated":true},"id":"b"}');
      c.send(rpc('secret', {}, 'c'));
      expect(await c.next()).toBe('{"jsonrpc":"2.0","result":1,"id":"c"}');
    });

    it('takes the token at the upgrade, in the Authorization header or a subprotocol', async () => {
      const { address } = await start({ authToken: 'tok' });
      for (const tokenIn of ['header', 'protocol'] as const) {
        const client = await connectWsClient(address, {
          fastPath,
          token: 'tok',
          tokenIn,
          heartbeatInterval: 0,
        });
        onCleanup(() => client.close());
        expect(await client.request('echo', { tokenIn })).toEqual({ tokenIn });
      }
      const wrong = await connectWs(address, { token: 'nope', fastPath }).catch((e) => e);
      expect(wrong.code).toBe('AUTH');
      const viaProtocol = await rawClient(address, { protocols: ['jsonrpc', 'bearer.dG9r'] });
      expect(viaProtocol.ws.protocol).toBe('jsonrpc');
    });

    it('limits frames to 64 KiB before authentication and to maxMessageSize after', async () => {
      const { address } = await start({ authToken: 'tok', maxMessageSize: 256 * 1024 });
      const anon = await rawClient(address);
      anon.send(rpc('echo', 'x'.repeat(70 * 1024)));
      expect((await anon.closed).code).toBe(1009);
      const c = await rawClient(address);
      c.send(rpc('authenticate', { token: 'tok' }));
      await c.next();
      c.send(rpc('echo', 'x'.repeat(200 * 1024), 2));
      expect(JSON.parse(await c.next()).result).toHaveLength(200 * 1024);
      c.send(rpc('echo', 'x'.repeat(300 * 1024), 3));
      expect((await c.closed).code).toBe(1009);
    });

    it('limits messages to 64 KiB before authentication with permessage-deflate too (their decompressed size)', async () => {
      const { address } = await start({
        authToken: 'tok',
        maxMessageSize: 256 * 1024,
        perMessageDeflate: true,
      });
      const anon = new WebSocket(address, { perMessageDeflate: true });
      onCleanup(() => anon.terminate());
      await new Promise((r) => anon.once('open', r));
      expect(anon.extensions).toContain('permessage-deflate');
      const closed = new Promise<number>((r) => anon.once('close', (code) => r(code)));
      // A few hundred bytes on the wire, 70 KiB once inflated.
      anon.send(rpc('echo', 'x'.repeat(70 * 1024)));
      expect(await closed).toBe(1009);
    });
  });

  describe('limits', () => {
    it('enforces maxConnections with the capacity reply and serves the others', async () => {
      const { server, address, listener } = await start({ maxConnections: 3 });
      const clients = await Promise.all([1, 2, 3].map(() => rawClient(address)));
      const extra = await rawClient(address);
      expect(JSON.parse(await extra.next())).toEqual({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Server at capacity', data: { code: 'CAPACITY' } },
        id: null,
      });
      expect((await extra.closed).code).toBe(1013);
      expect(listener.refused).toBe(1);
      expect(server.connections.size).toBe(3);
      for (const [i, c] of clients.entries()) {
        c.send(rpc('echo', i, i));
        expect(JSON.parse(await c.next()).result).toBe(i);
      }
      clients[0]!.close();
      await until(() => server.connections.size === 2);
      const again = await rawClient(address);
      again.send(rpc('echo', 'back', 9));
      expect(JSON.parse(await again.next()).result).toBe('back');
    });

    it('createWsServer, connectWsClient and GatewayClient refuse an unknown option, suggesting the one meant', async () => {
      const server = await createWsServer({ maxPayload: 1024 } as never).catch((e) => e);
      expect(server).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { option: 'maxPayload', suggestion: 'maxMessageSize' },
      });
      expect(server.details.known).toEqual(
        expect.arrayContaining(['maxPreAuthMessageSize', 'host', 'handlers']),
      );
      const client = await connectWsClient('ws://127.0.0.1:1/', { maxPayload: 1024 } as never).catch(
        (e) => e,
      );
      expect(client).toMatchObject({ code: 'INVALID_ARGUMENT', details: { suggestion: 'maxMessageSize' } });
      expect(() => new GatewayClient({ url: 'ws://127.0.0.1:1/', maxPayload: 1 } as never)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          details: expect.objectContaining({ option: 'maxPayload', suggestion: 'maxMessageSize' }),
        }),
      );
    });

    it('maxPreAuthMessageSize bounds a message before authentication', async () => {
      const { address } = await start({ authToken: 'tok', maxPreAuthMessageSize: 1024 });
      const anon = await rawClient(address);
      anon.send(rpc('echo', 'x'.repeat(2000)));
      expect((await anon.closed).code).toBe(1009);
    });

    it('defaults maxMessageSize to 1 MiB, not ws’s 100 MiB', async () => {
      const { address } = await start();
      const c = await rawClient(address);
      c.send(rpc('echo', 'x'.repeat(1024 * 1024 + 10)));
      expect((await c.closed).code).toBe(1009);
    });

    it('disconnects a slow consumer instead of buffering without bound', async () => {
      const serverErrors: IpcError[] = [];
      const { server, address } = await start({
        maxQueuedBytes: 256 * 1024,
        highWaterMark: 64 * 1024,
        onError: (e) => serverErrors.push(e),
      });
      const c = await rawClient(address);
      c.send(rpc('$/subscribe', { topic: 'flood' }));
      await c.next();
      // Stop reading: the kernel buffers fill, then ws's queue grows past the cap.
      (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const chunk = 'y'.repeat(16 * 1024);
      let rounds = 0;
      while (server.connections.size > 0 && rounds < 2000) {
        server.publish('flood', chunk);
        rounds++;
        if (rounds % 50 === 0) await delay(1);
      }
      expect(server.connections.size).toBe(0);
      expect(serverErrors.some((e) => e.code === 'CAPACITY' && /peer too slow/.test(e.message))).toBe(true);
      const errors: IpcError[] = [];
      const other = await connectWsClient(address, {
        fastPath,
        heartbeatInterval: 0,
        onError: (e) => errors.push(e),
      });
      onCleanup(() => other.close());
      expect(await other.request('echo', 'still here')).toBe('still here');
    });

    it('terminates a peer that stops answering pings', async () => {
      const { server, address } = await start({ heartbeatInterval: 100 });
      const c = await rawClient(address);
      c.send(rpc('echo', 1));
      await c.next();
      // A dead peer: its socket stops reading, so pongs never come back.
      (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      await until(() => server.connections.size === 0, 5000);
      expect(server.connections.size).toBe(0);
    });

    it('keeps permessage-deflate off unless asked', async () => {
      const plain = await start();
      const c = await rawClient(plain.address);
      expect(c.ws.extensions).toBe('');
      const deflating = await start({ perMessageDeflate: true });
      const d = new WebSocket(deflating.address, { perMessageDeflate: true });
      onCleanup(() => d.terminate());
      await new Promise((r) => d.once('open', r));
      expect(d.extensions).toContain('permessage-deflate');
    });

    it('lets ws frame (and compress) the messages when permessage-deflate is negotiated', async () => {
      const { address } = await start({ perMessageDeflate: true });
      const client = await connectWsClient(address, {
        fastPath,
        heartbeatInterval: 0,
        perMessageDeflate: true,
      });
      onCleanup(() => client.close());
      const params = Array.from({ length: 50 }, (_, i) => ({ i, text: 'z'.repeat(i * 40) }));
      expect(await Promise.all(params.map((p) => client.request('echo', p)))).toEqual(params);
      const raw = new WebSocket(address, { perMessageDeflate: true });
      onCleanup(() => raw.terminate());
      await new Promise((r) => raw.once('open', r));
      // The reply is small enough to be batched by our writer: compressed, it arrives in a few
      // hundred bytes instead of 8 K.
      let received = 0;
      (raw as unknown as { _socket: { on(e: 'data', f: (b: Buffer) => void): void } })._socket.on(
        'data',
        (b) => {
          received += b.length;
        },
      );
      const reply = new Promise<string>((r) => raw.once('message', (data) => r(String(data))));
      raw.send(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: 'q'.repeat(8000), id: 1 }));
      expect(JSON.parse(await reply).result).toBe('q'.repeat(8000));
      expect(received).toBeLessThan(2000);
    });
  });

  describe('client', () => {
    it('rejects pending requests with CLOSED at a disconnect, reconnects and re-subscribes', async () => {
      const { server, listener } = await start({ port: 0 });
      const port = listener.port;
      let release: () => void = () => {};
      server.handle('hang', () => new Promise<void>((r) => (release = r)));
      const client = await connectWsClient(`ws://127.0.0.1:${port}/`, {
        fastPath,
        heartbeatInterval: 0,
        reconnect: { minDelay: 20, maxDelay: 100 },
      });
      onCleanup(() => client.close());
      await client.subscribe('news');
      const hanging = client.request('hang');
      await until(() => server.connections.size === 1);
      for (const conn of server.connections) conn.close();
      const err = await hanging.catch((e) => e);
      expect(err.code).toBe('CLOSED');
      release();
      await until(() => client.state === 'open' && server.connections.size === 1);
      await until(() => [...server.connections][0]!.topics.has('news'));
      const got = new Promise((r) => client.on('news', r));
      server.publish('news', { again: true });
      expect(await got).toEqual({ again: true });
    });

    it('connects through the transport factory by URL, with both dialects', async () => {
      for (const dialect of ['jsonrpc', 'forge']) {
        const server = await wsTransport.listen(new URL('ws://127.0.0.1:0/rpc'), {
          dialect,
          heartbeatInterval: 0,
          fastPath,
          handlers: { add: (p: { a: number; b: number }) => p.a + p.b },
        });
        onCleanup(() => server.close());
        const listener = [...(server as unknown as { listeners: Set<{ address: string }> }).listeners][0]!;
        const client = await wsTransport.connect(new URL(listener.address), {
          dialect,
          heartbeatInterval: 0,
          fastPath,
        });
        onCleanup(() => client.close());
        expect(await client.request('add', { a: 2, b: 3 })).toBe(5);
      }
      await expect(
        wsTransport.connect(new URL('ws://127.0.0.1:1/'), { reconnect: false }),
      ).rejects.toMatchObject({
        code: 'CONNECT',
      });
    });

    it('pings the server and drops a dead link', async () => {
      const { address } = await start();
      const link = await connectWs(address, { heartbeatInterval: 50, fastPath });
      const closed = new Promise<IpcError | undefined>((r) => link.attach({ onFrame: () => {}, onClose: r }));
      // Silence the server side: stop reading on the client, so pongs are never seen.
      (link.socket as unknown as { _socket: { pause(): void } })._socket.pause();
      const error = await closed;
      expect(error?.code).toBe('TIMEOUT');
    });
  });
});
