import { describe, expect, it } from 'vitest';
import { connectWsClient, createWsServer, forgeDialect, publishEvent } from '../src/index.js';
import { onCleanup, rawClient } from './util/raw.js';

async function forgeServer(options: { authToken?: string; maxConnections?: number } = {}) {
  const ws = await createWsServer({ dialect: forgeDialect, heartbeatInterval: 0, ...options });
  onCleanup(() => ws.server.close());
  ws.server.handle('ping', () => ({ pong: true }));
  ws.server.handle('nothing', () => undefined);
  return ws;
}

describe('forge dialect: wire-formats.md §3 as literal frames', () => {
  it('answers commands, unknown methods and unparseable input byte for byte', async () => {
    const { address } = await forgeServer();
    const c = await rawClient(address, {});
    c.send('{"id":"r1","method":"ping","params":{}}');
    expect(await c.next()).toBe('{"id":"r1","success":true,"result":{"pong":true}}');
    c.send('{"id":"r2","method":"launch","params":{}}');
    expect(await c.next()).toBe('{"id":"r2","success":false,"error":"Unknown method: launch"}');
    c.send('{"id":"r3","method":');
    const bad = JSON.parse(await c.next());
    expect(Object.keys(bad)).toEqual(['id', 'success', 'error']);
    expect(bad.id).toBe('unknown');
    expect(bad.success).toBe(false);
    expect(bad.error).toMatch(/^Invalid JSON: /);
    c.send('{"id":"r4","method":"ping"}');
    expect(JSON.parse(await c.next())).toMatchObject({ id: 'unknown', success: false });
    c.send('{"id":"r5","method":"nothing","params":null}');
    expect(await c.next()).toBe('{"id":"r5","success":true,"result":null}');
  });

  it('requires authentication: "Authentication required" until authenticate{token}', async () => {
    const { server, address } = await forgeServer({ authToken: 's3cret' });
    let ran = 0;
    server.handle('count', () => ++ran);
    const c = await rawClient(address);
    c.send('{"id":"1","method":"count","params":{}}');
    expect(await c.next()).toBe('{"id":"1","success":false,"error":"Authentication required"}');
    c.send('{"id":"2","method":"subscribe","params":{"session_id":"s1"}}');
    expect(await c.next()).toBe('{"id":"2","success":false,"error":"Authentication required"}');
    c.send('{"id":"3","method":"whatever","params":{}}');
    expect(await c.next()).toBe('{"id":"3","success":false,"error":"Authentication required"}');
    c.send('{"id":"4","method":"authenticate","params":{"token":"wrong"}}');
    expect(await c.next()).toBe('{"id":"4","success":false,"error":"Invalid authentication token"}');
    expect(ran).toBe(0);
    c.send('{"id":"5","method":"authenticate","params":{"token":"s3cret"}}');
    expect(await c.next()).toBe('{"id":"5","success":true,"result":{"authenticated":true}}');
    c.send('{"id":"6","method":"count","params":{}}');
    expect(await c.next()).toBe('{"id":"6","success":true,"result":1}');
  });

  it('subscribe{session_id} answers and the session events follow as event frames', async () => {
    const { server, address } = await forgeServer();
    const c = await rawClient(address);
    const other = await rawClient(address);
    c.send('{"id":"s","method":"subscribe","params":{"session_id":"abc"}}');
    expect(await c.next()).toBe('{"id":"s","success":true,"result":{"subscribed":true,"session_id":"abc"}}');
    expect(publishEvent(server, 'abc', 'reasoning_step', { step: 1 })).toBe(1);
    expect(await c.next()).toBe('{"event_type":"reasoning_step","data":{"step":1}}');
    server.publish('abc', { done: true });
    expect(await c.next()).toBe('{"event_type":"abc","data":{"done":true}}');
    other.send('{"id":"p","method":"ping","params":{}}');
    expect(await other.next()).toBe('{"id":"p","success":true,"result":{"pong":true}}');
  });

  it('over capacity: {"id":"init",…"Server at capacity"} then close', async () => {
    const { address } = await forgeServer({ maxConnections: 1 });
    const first = await rawClient(address);
    const second = await rawClient(address);
    expect(await second.next()).toBe('{"id":"init","success":false,"error":"Server at capacity"}');
    expect((await second.closed).code).toBe(1013);
    first.send('{"id":"a","method":"ping","params":{}}');
    expect(await first.next()).toBe('{"id":"a","success":true,"result":{"pong":true}}');
  });

  it('our client speaks it too, subscriptions included', async () => {
    const { server, address } = await forgeServer();
    const client = await connectWsClient(address, { dialect: 'forge', heartbeatInterval: 0 });
    onCleanup(() => client.close());
    expect(await client.request('ping')).toEqual({ pong: true });
    const err = await client.request('nope').catch((e) => e);
    expect(err.message).toBe('Unknown method: nope');
    await client.subscribe('sess');
    const got = new Promise((r) => client.on('sess', r));
    server.publish('sess', { n: 1 });
    expect(await got).toEqual({ n: 1 });
  });
});
