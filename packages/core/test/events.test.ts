import { EventStream, IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { delay, rejection, rpcPair, until } from './util/harness.js';

describe('events as handlers', () => {
  it('server.emit reaches every client; on(name) and on("*") see it', async () => {
    const { server, client, network, name } = await rpcPair();
    const { RpcClient, msgpackDialect } = await import('@openclaw-ipc/core');
    const other = await RpcClient.connect({ dialect: msgpackDialect, link: network.connector(name) });
    const got: unknown[] = [];
    client.on('tick', (d, type) => got.push(['a', d, type]));
    client.on('*', (d, type) => got.push(['a*', d, type]));
    other.on('tick', (d) => got.push(['b', d]));
    await until(() => server.connections.size === 2);
    server.emit('tick', { n: 1 });
    await until(() => got.length === 3);
    expect(got).toEqual(
      expect.arrayContaining([
        ['a', { n: 1 }, 'tick'],
        ['a*', { n: 1 }, 'tick'],
        ['b', { n: 1 }],
      ]),
    );
    other.close();
  });

  it('ServerConnection.emit reaches one client; the unsubscriber stops delivery', async () => {
    const { server, client } = await rpcPair();
    const got: unknown[] = [];
    const off = client.on('hello', (d) => got.push(d));
    await until(() => server.connections.size === 1);
    const conn = [...server.connections][0]!;
    await conn.emit('hello', 1);
    await until(() => got.length === 1);
    off();
    await conn.emit('hello', 2);
    server.handle('sync', () => 0);
    await client.request('sync'); // everything emitted before has arrived by now
    expect(got).toEqual([1]);
  });

  it('a throwing handler is reported and does not stop the others', async () => {
    const errors: IpcError[] = [];
    const { server, client } = await rpcPair({ client: { onError: (e) => errors.push(e) } });
    const got: unknown[] = [];
    client.on('e', () => {
      throw new Error('handler bug');
    });
    client.on('e', (d) => got.push(d));
    await until(() => server.connections.size === 1);
    server.emit('e', 'x');
    await until(() => got.length === 1);
    expect(errors[0]?.message).toBe('handler bug');
  });
});

describe('events as async iterators', () => {
  it('yields events in order and unsubscribes when the loop breaks', async () => {
    const { server, client } = await rpcPair();
    await until(() => server.connections.size === 1);
    const stream = client.events('n');
    for (let i = 0; i < 5; i++) server.emit('n', i);
    const seen: number[] = [];
    for await (const v of stream) {
      seen.push(v as number);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it("overflow 'error' ends the iterator with CAPACITY after the queued events", async () => {
    const { server, client } = await rpcPair();
    await until(() => server.connections.size === 1);
    const stream = client.events('n', { limit: 3 });
    for (let i = 0; i < 5; i++) server.emit('n', i);
    server.handle('sync', () => 0);
    await client.request('sync');
    expect((await stream.next()).value).toBe(0);
    expect((await stream.next()).value).toBe(1);
    expect((await stream.next()).value).toBe(2);
    expect(await rejection(stream.next())).toMatchObject({ code: 'CAPACITY', details: { limit: 3 } });
    expect((await stream.next()).done).toBe(true);
  });

  it("overflow 'drop-oldest' keeps the newest and counts the dropped", async () => {
    const { server, client } = await rpcPair();
    await until(() => server.connections.size === 1);
    const stream = client.events('n', { limit: 2, overflow: 'drop-oldest' });
    for (let i = 0; i < 6; i++) server.emit('n', i);
    server.handle('sync', () => 0);
    await client.request('sync');
    expect(stream.dropped).toBe(4);
    expect((await stream.next()).value).toBe(4);
    expect((await stream.next()).value).toBe(5);
    stream.return();
  });

  it('ends when its signal aborts', async () => {
    const { client } = await rpcPair();
    const ac = new AbortController();
    const stream = client.events('n', { signal: ac.signal });
    const next = stream.next();
    ac.abort();
    expect(await next).toEqual({ value: undefined, done: true });
  });
});

describe('subscribe / publish', () => {
  it('publish reaches exactly the subscribers of the topic', async () => {
    const { server, client, network, name } = await rpcPair();
    const { RpcClient, msgpackDialect } = await import('@openclaw-ipc/core');
    const b = await RpcClient.connect({ dialect: msgpackDialect, link: network.connector(name) });
    const c = await RpcClient.connect({ dialect: msgpackDialect, link: network.connector(name) });
    const got: string[] = [];
    for (const [who, cl] of [
      ['a', client],
      ['b', b],
      ['c', c],
    ] as const) {
      cl.on('prices', (d) => got.push(`${who}:${d}`));
      cl.on('news', (d) => got.push(`${who}:${d}`));
    }
    await client.subscribe('prices');
    await b.subscribe('prices');
    await c.subscribe('news');
    server.publish('prices', 1);
    server.publish('news', 2);
    server.publish('nobody', 3);
    server.handle('sync', () => 0);
    await Promise.all([client.request('sync'), b.request('sync'), c.request('sync')]);
    expect(got.sort()).toEqual(['a:1', 'b:1', 'c:2']);

    await b.unsubscribe('prices');
    server.publish('prices', 4);
    await Promise.all([client.request('sync'), b.request('sync')]);
    expect(got.sort()).toEqual(['a:1', 'a:4', 'b:1', 'c:2']);
    b.close();
    c.close();
  });

  it('re-subscribes after a reconnect', async () => {
    const { server, client, listener } = await rpcPair({
      client: { reconnect: { minDelay: 1, maxDelay: 5 } },
    });
    const got: unknown[] = [];
    client.on('t', (d) => got.push(d));
    await client.subscribe('t');
    const states: string[] = [];
    client.onState((s) => states.push(s));
    listener.dropAll();
    await until(() => states.includes('open'));
    expect(states).toEqual(['reconnecting', 'open']);
    await until(() => client.state === 'open' && [...server.connections].some((c) => c.topics.has('t')));
    server.publish('t', 'after');
    await until(() => got.length === 1);
    expect(got).toEqual(['after']);
    expect(server.connections.size).toBe(1);
  });
});

describe('EventStream alone', () => {
  it('delivers pushed values to a waiting consumer and ends', async () => {
    const s = new EventStream<number>();
    const first = s.next();
    s.push(1);
    expect(await first).toEqual({ value: 1, done: false });
    s.end();
    s.push(2);
    expect(await s.next()).toEqual({ value: undefined, done: true });
  });

  it('fail() delivers queued values first, then the error once', async () => {
    const s = new EventStream<number>();
    s.push(1);
    s.fail(new IpcError('CLOSED', 'gone'));
    expect((await s.next()).value).toBe(1);
    expect(await rejection(s.next())).toMatchObject({ code: 'CLOSED' });
    expect((await s.next()).done).toBe(true);
    await delay(0);
  });
});

describe('event iterators end when the client closes', () => {
  it('ends a waiting iterator on client.close()', async () => {
    const { client } = await rpcPair();
    const stream = client.events('n');
    const next = stream.next();
    client.close();
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('ends it when the link is lost and the client does not reconnect', async () => {
    const { client, listener } = await rpcPair({ client: { reconnect: false } });
    const stream = client.events('n');
    const next = stream.next();
    listener.dropAll();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(client.state).toBe('closed');
  });

  it('a stream asked for after close is already ended', async () => {
    const { client } = await rpcPair();
    client.close();
    expect(await client.events('n').next()).toEqual({ value: undefined, done: true });
  });
});

describe('concurrent next() calls each get an event', () => {
  it('resolves every waiting next() in order', async () => {
    const s = new EventStream<number>();
    const a = s.next();
    const b = s.next();
    const c = s.next();
    s.push(1);
    s.push(2);
    s.end();
    expect(await a).toEqual({ value: 1, done: false });
    expect(await b).toEqual({ value: 2, done: false });
    expect(await c).toEqual({ value: undefined, done: true });
  });

  it('rejects the first waiter left with the failure and ends the others', async () => {
    const s = new EventStream<number>();
    const a = s.next();
    const b = s.next();
    s.fail(new IpcError('CLOSED', 'gone'));
    expect(await rejection(a)).toMatchObject({ code: 'CLOSED' });
    expect(await b).toEqual({ value: undefined, done: true });
  });
});

describe('drop-oldest frees the events it drops', () => {
  it('holds at most about `limit` events however many are pushed', () => {
    const s = new EventStream<number>({ limit: 4, overflow: 'drop-oldest' });
    for (let i = 0; i < 100_000; i++) s.push(i);
    expect(s.dropped).toBe(100_000 - 4);
    // The queue array itself (private) must not keep the dropped values reachable.
    const queue = (s as unknown as { queue: unknown[] }).queue;
    expect(queue.length).toBeLessThanOrEqual(2 * 4 + 1024);
  });
});

describe('removing the last server.on listener gives the notified method back to its handler', () => {
  it('runs the method handler again after the last listener is removed', async () => {
    const { server, client } = await rpcPair();
    const seen: string[] = [];
    server.handle('store', (p) => seen.push(`handler:${p}`));
    const off = server.on('store', (d) => seen.push(`listener:${d}`));
    await client.notify('store', 1);
    await until(() => seen.length === 1);
    off();
    await client.notify('store', 2);
    await until(() => seen.length === 2);
    expect(seen).toEqual(['listener:1', 'handler:2']);
  });
});
