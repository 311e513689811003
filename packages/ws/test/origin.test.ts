/**
 * Cross-site WebSocket hijacking: a browser page of another origin is refused at the upgrade
 * with HTTP 403 (both dialects); the server's own origin, an allowed one and clients that send
 * no Origin are served.
 */
import { IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  connectWsClient,
  createWsServer,
  forgeDialect,
  type WsServerOptions,
  wsTransport,
} from '../src/index.js';
import { onCleanup, rawClient } from './util/raw.js';

async function start(options: WsServerOptions = {}) {
  const ws = await createWsServer({ heartbeatInterval: 0, ...options });
  onCleanup(() => ws.server.close());
  const ran: unknown[] = [];
  ws.server.handle('echo', (p) => {
    ran.push(p);
    return p;
  });
  return { ...ws, ran, port: ws.listener.port };
}

/** Upgrades with `headers`; resolves 101 when served, else the HTTP status of the refusal. */
async function upgradeStatus(address: string, headers: Record<string, string>): Promise<number> {
  try {
    const c = await rawClient(address, { headers });
    c.close();
    return 101;
  } catch (err) {
    const m = /^HTTP (\d+)$/.exec((err as Error).message);
    if (!m) throw err;
    return Number(m[1]);
  }
}

/** One echo call over a raw connection with `headers`: the method really is callable. */
async function echoWith(address: string, headers: Record<string, string>, forge = false): Promise<unknown> {
  const c = await rawClient(address, { headers });
  c.send(
    forge
      ? JSON.stringify({ id: '1', method: 'echo', params: 'hi' })
      : JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: 'hi' }),
  );
  const reply = JSON.parse(await c.next());
  c.close();
  return reply.result;
}

describe.each(['jsonrpc', 'forge'] as const)('%s server, Origin at the upgrade', (dialect) => {
  const options = (o: WsServerOptions = {}) =>
    start({ ...o, ...(dialect === 'forge' ? { dialect: forgeDialect } : {}) });

  it('refuses a foreign Origin (https://evil.example) with HTTP 403; no handler runs', async () => {
    const { address, ran, listener } = await options();
    expect(await upgradeStatus(address, { Origin: 'https://evil.example' })).toBe(403);
    expect(listener.refusedOrigins).toBe(1);
    expect(ran).toEqual([]);
  });

  it("serves the server's own origin (http://127.0.0.1:<port>)", async () => {
    const { address, port } = await options();
    expect(await echoWith(address, { Origin: `http://127.0.0.1:${port}` }, dialect === 'forge')).toBe('hi');
  });

  it('serves an origin listed in allowedOrigins', async () => {
    const { address } = await options({ allowedOrigins: ['https://app.example'] });
    expect(await echoWith(address, { Origin: 'https://app.example' }, dialect === 'forge')).toBe('hi');
    expect(await upgradeStatus(address, { Origin: 'https://other.example' })).toBe(403);
  });

  it('serves a client that sends no Origin (Node, Go, Python clients)', async () => {
    const { address } = await options();
    expect(await echoWith(address, {}, dialect === 'forge')).toBe('hi');
  });
});

describe("what counts as the server's own origin", () => {
  it('localhost at the same port is its own origin', async () => {
    const { address, port } = await start();
    expect(
      await upgradeStatus(address, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` }),
    ).toBe(101);
  });

  it('a DNS name matching the Host header is not (DNS rebinding): 403 unless listed', async () => {
    const { address, port } = await start();
    const headers = { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` };
    expect(await upgradeStatus(address, headers)).toBe(403);
    const listed = await start({ allowedOrigins: [`http://evil.example:${port}`] });
    expect(
      await upgradeStatus(listed.address, { Host: headers.Host, Origin: `http://evil.example:${port}` }),
    ).toBe(101);
  });

  it('the same host at another port, or https for a plain server, is foreign: 403', async () => {
    const { address, port } = await start();
    expect(await upgradeStatus(address, { Origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await upgradeStatus(address, { Origin: `https://127.0.0.1:${port}` })).toBe(403);
  });

  it("the opaque origin 'null' and a malformed Origin are refused with 403", async () => {
    const { address } = await start();
    expect(await upgradeStatus(address, { Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(address, { Origin: 'not an origin' })).toBe(403);
  });

  it('Sec-WebSocket-Origin (protocol version 8) is checked as Origin', async () => {
    const { address } = await start();
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(address, { protocolVersion: 8, origin: 'https://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', reject);
    });
    expect(status).toBe(403);
  });
});

describe('allowedOrigins', () => {
  it('matches origins as browsers send them (case and default port normalised)', async () => {
    const { address } = await start({ allowedOrigins: ['https://APP.example:443/'] });
    expect(await upgradeStatus(address, { Origin: 'https://app.example' })).toBe(101);
  });

  it("'*' serves every origin", async () => {
    const { address } = await start({ allowedOrigins: ['*'] });
    expect(await upgradeStatus(address, { Origin: 'https://evil.example' })).toBe(101);
  });

  it.each([
    ['a string, not an array', 'https://app.example'],
    ['a wildcard inside a name', ['https://*.example']],
    ["'null'", ['null']],
    ['an origin with a path', ['https://app.example/app']],
    ['a bare host name', ['app.example']],
  ])('refuses %s with INVALID_ARGUMENT before binding', async (_name, allowedOrigins) => {
    const err = await createWsServer({ allowedOrigins: allowedOrigins as string[] }).catch((e) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('INVALID_ARGUMENT');
  });

  it('is checked before the token: a foreign Origin with the right token is refused 403', async () => {
    const { address } = await start({ authToken: 'tok' });
    const headers = { Origin: 'https://evil.example', Authorization: 'Bearer tok' };
    expect(await upgradeStatus(address, headers)).toBe(403);
  });

  it('listen(ws://…) of the transport factory passes allowedOrigins through', async () => {
    const server = await wsTransport.listen(new URL('ws://127.0.0.1:0/'), {
      allowedOrigins: ['https://app.example'],
      heartbeatInterval: 0,
      handlers: { echo: (p: unknown) => p },
    });
    onCleanup(() => server.close());
    const address = server.address!;
    expect(await upgradeStatus(address, { Origin: 'https://evil.example' })).toBe(403);
    expect(await echoWith(address, { Origin: 'https://app.example' })).toBe('hi');
    const client = await connectWsClient(address, { reconnect: false });
    onCleanup(() => client.close());
    expect(await client.request('echo', 'node')).toBe('node');
  });
});
