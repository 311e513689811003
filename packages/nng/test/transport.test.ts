import { type ConnectionState, IpcError, type RpcServer, request } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNng, IpcTransport, listenNng, ReconnectingTransport, TransportPool } from '../src/index.js';
import { address, cleanupAddresses, sleep, spawnPeer } from './helpers.js';

afterAll(cleanupAddresses);

const slowServer = (url: string, ms = 30) =>
  listenNng(url, {
    handlers: {
      slow: async (p: { i: number }) => {
        await sleep(ms);
        return p.i;
      },
      pid: () => process.pid,
    },
  });

describe('IpcTransport (the crate API)', () => {
  it('client request, server recv/send with many in flight, replies matched by id', async () => {
    const url = address('ipc');
    const server = await IpcTransport.server(url);
    const client = await IpcTransport.client(url);
    expect(IpcTransport.defaultAddress()).toBe('ipc:///tmp/openclaw-gateway.ipc');
    const replies = Promise.all(
      Array.from({ length: 10 }, (_, i) => client.request(request('double', { n: i }, `id-${i}`))),
    );
    // Take all ten before answering any: they are in flight together.
    const received = [];
    for (let i = 0; i < 10; i++) received.push(await server.recv());
    expect(client.inFlight).toBe(10);
    for (const m of received.reverse()) {
      const n = (m.payload as { params: { n: number } }).params.n;
      await server.send({
        id: m.id,
        payload: { type: 'response', success: true, result: n * 2, error: null },
      });
    }
    const out = await replies;
    expect(out.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `id-${i}`));
    expect(out.map((r) => (r.payload as { result: number }).result)).toEqual(
      Array.from({ length: 10 }, (_, i) => i * 2),
    );
    // send/recv on the client: replies come back in send order.
    await client.send(request('double', { n: 21 }, 'sr'));
    const m = await server.recv();
    await expect(server.send({ ...m, id: 'unknown' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await server.send({ id: m.id, payload: { type: 'response', success: true, result: 42, error: null } });
    expect((await client.recv()).payload).toMatchObject({ result: 42 });
    await expect(server.recv({ timeout: 30 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    client.close();
    server.close();
    await expect(server.recv()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a client to nobody is CONNECT, like the crate', async () => {
    const err = await IpcTransport.client(address('ipc')).catch((e) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('CONNECT');
  });
});

describe('TransportPool', () => {
  it('grows to its maximum under load and spreads requests over every member', async () => {
    const url = address('ipc');
    const server = await slowServer(url);
    const pool = await TransportPool.connect(url, { min: 1, max: 4, growAt: 2 });
    expect(pool.size).toBe(1);
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => pool.request(request('slow', { i }))),
    );
    expect(results.map((r) => (r.payload as { result: number }).result)).toEqual(
      Array.from({ length: 64 }, (_, i) => i),
    );
    expect(pool.size).toBe(4);
    const served = pool.servedPerMember;
    expect(served.reduce((a, b) => a + b, 0)).toBe(64);
    for (const n of served) expect(n).toBeGreaterThan(0);
    pool.close();
    await server.close();
  });

  it('is POOL_EXHAUSTED when every member is full and it cannot grow', async () => {
    const url = address('ipc');
    const server = await slowServer(url, 200);
    const pool = await TransportPool.connect(url, { min: 1, max: 1, maxInFlightPerMember: 2 });
    const a = pool.request(request('slow', { i: 1 }));
    const b = pool.request(request('slow', { i: 2 }));
    const c = await pool.request(request('slow', { i: 3 })).catch((e) => e);
    expect(c.code).toBe('POOL_EXHAUSTED');
    await Promise.all([a, b]);
    pool.close();
    await server.close();
  });
});

describe('peer restart', () => {
  it('the RPC client reconnects under the policy after the server process restarts', async () => {
    const url = address('ipc');
    let peer = spawnPeer('rpc-server', url);
    await peer.waitFor(/^ready$/);
    const states: ConnectionState[] = [];
    const client = await connectNng(url, { reconnect: { minDelay: 20, maxDelay: 200 } });
    client.onState((s) => states.push(s));
    const firstPid = await client.request('pid');
    expect(firstPid).toBe(peer.child.pid);
    // A request in flight when the server dies rejects CLOSED: it is not resent.
    const inFlight = client.request('slow', { ms: 5000 }).catch((e) => e);
    await sleep(100);
    await peer.kill();
    expect((await inFlight).code).toBe('CLOSED');
    peer = spawnPeer('rpc-server', url);
    try {
      await peer.waitFor(/^ready$/);
      let pid: unknown;
      for (let i = 0; i < 100 && pid === undefined; i++) {
        pid = await client.request('pid', undefined, { timeout: 1000 }).catch(() => undefined);
        if (pid === undefined) await sleep(50);
      }
      expect(pid).toBe(peer.child.pid);
      expect(states).toContain('reconnecting');
      expect(client.state).toBe('open');
    } finally {
      client.close();
      await peer.kill();
    }
  }, 60_000);

  it('ReconnectingTransport redials with backoff and resends only idempotent requests', async () => {
    const url = address('ipc');
    const rt = new ReconnectingTransport(url, { reconnect: { minDelay: 20, maxDelay: 100 } });
    const states: ConnectionState[] = [rt.state];
    rt.onState((s) => states.push(s));
    // Nobody listens yet: connect() keeps retrying until the server appears (core's loop: the
    // first connection is 'connecting' until it opens).
    const connecting = rt.connect();
    await sleep(150);
    let server: RpcServer = await slowServer(url, 300);
    await connecting;
    expect(states).toEqual(['connecting', 'open']);
    expect((await rt.request(request('pid'))).payload).toMatchObject({ success: true, result: process.pid });

    // Not idempotent: rejected CLOSED when the server goes away mid-request.
    const lost = rt.request(request('slow', { i: 1 })).catch((e) => e);
    await sleep(50);
    await server.close();
    expect((await lost).code).toBe('CLOSED');

    // Idempotent: sent again once the server is back.
    const retried = rt.request(request('slow', { i: 2 }), { idempotent: true, timeout: 10_000 });
    await sleep(100);
    server = await slowServer(url, 10);
    expect((await retried).payload).toMatchObject({ success: true, result: 2 });
    expect(rt.state).toBe('open');
    rt.close();
    await expect(rt.request(request('pid'))).rejects.toMatchObject({ code: 'CLOSED' });
    await server.close();
  }, 30_000);
});

describe('ReconnectingTransport on core’s reconnect loop', () => {
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await sleep(10);
    expect(check()).toBe(true);
  };

  it('reports connecting → open → reconnecting → open → closed, with the loss as the error', async () => {
    const url = address('ipc');
    let server = await slowServer(url);
    const rt = new ReconnectingTransport(url, { reconnect: { minDelay: 10, maxDelay: 50 } });
    const seen: Array<[ConnectionState, string | undefined]> = [[rt.state, undefined]];
    rt.onState((state, error) => seen.push([state, error?.code]));
    await rt.connect();
    await server.close();
    await until(() => rt.state === 'reconnecting');
    server = await slowServer(url);
    await until(() => rt.state === 'open');
    expect((await rt.request(request('pid'))).payload).toMatchObject({ result: process.pid });
    rt.close();
    await server.close();
    expect(seen).toEqual([
      ['connecting', undefined],
      ['open', undefined],
      ['reconnecting', 'CLOSED'],
      ['open', undefined],
      ['closed', undefined],
    ]);
  });

  it('gives up after maxAttempts: closed with a CONNECT error, which the waiting request gets', async () => {
    const rt = new ReconnectingTransport(address('ipc'), {
      reconnect: { minDelay: 5, maxDelay: 10, maxAttempts: 3 },
    });
    const seen: ConnectionState[] = [rt.state];
    let closedWith: IpcError | undefined;
    rt.onState((state, error) => {
      seen.push(state);
      closedWith = error;
    });
    const err = await rt.request(request('pid')).catch((e) => e);
    expect(err).toMatchObject({ code: 'CONNECT' });
    expect(err.message).toContain('gave up after 3 attempts');
    expect(seen).toEqual(['connecting', 'closed']);
    expect(closedWith).toBe(err);
    await expect(rt.connect()).rejects.toBe(err);
  });
});
