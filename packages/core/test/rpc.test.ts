import {
  CANCEL_EVENT,
  type HandlerContext,
  IpcError,
  msgpackDialect,
  openclawJson,
  RemoteError,
  RpcClient,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { delay, onCleanup, rejection, rpcPair, until } from './util/harness.js';
import { memoryLinkPair } from './util/memory-link.js';

/** A promise and its resolver, for handlers that finish when the test says so. */
function gate<T = void>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    open = r;
  });
  return { promise, open };
}

describe('requests', () => {
  it('resolves with the handler result, many in flight, answered out of order', async () => {
    const { server, client } = await rpcPair();
    server.handle('echo', (p) => p);
    server.handle('later', async (p: { ms: number; v: number }) => {
      await delay(p.ms);
      return p.v;
    });
    expect(await client.request('echo', { a: [1, 'x'] })).toEqual({ a: [1, 'x'] });
    const order: number[] = [];
    const calls = [30, 1, 15].map((ms, v) => client.request('later', { ms, v }).then((r) => order.push(r)));
    await Promise.all(calls);
    expect(order).toEqual([1, 2, 0]);
    expect(client.inFlight).toBe(0);
  });

  it('answers undefined results with null and params default to {}', async () => {
    const { server, client } = await rpcPair();
    let seen: unknown;
    server.handle('void', (p) => {
      seen = p;
    });
    expect(await client.request('void')).toBeNull();
    expect(seen).toEqual({});
  });

  it('gives the handler its context', async () => {
    const { server, client } = await rpcPair();
    let ctx: HandlerContext | undefined;
    server.handle('ctx', (_p, c) => {
      ctx = c;
      return c.id;
    });
    const id = await client.request('ctx');
    expect(ctx?.id).toBe(id);
    expect(ctx?.method).toBe('ctx');
    expect(ctx?.signal.aborted).toBe(false);
    expect(ctx?.connection && server.connections.has(ctx.connection)).toBe(true);
  });

  it('rejects with a RemoteError carrying the handler error code', async () => {
    const { server, client } = await rpcPair();
    server.handle('auth', () => {
      throw new IpcError('AUTH', 'who are you');
    });
    server.handle('remote', () => {
      throw new RemoteError('slow down', { remoteCode: 'BUSY', retryable: true, retryAfterMs: 5 });
    });
    server.handle('crash', () => {
      throw new Error('boom');
    });
    const auth = await rejection(client.request('auth'));
    expect(auth).toBeInstanceOf(RemoteError);
    expect(auth).toMatchObject({
      code: 'REMOTE',
      remoteCode: 'AUTH',
      message: 'who are you',
      method: 'auth',
    });
    expect(await rejection(client.request('remote'))).toMatchObject({
      remoteCode: 'BUSY',
      retryable: true,
      retryAfterMs: 5,
    });
    expect(await rejection(client.request('crash'))).toMatchObject({
      remoteCode: 'INTERNAL',
      message: 'boom',
    });
    expect(await rejection(client.request('nope'))).toMatchObject({ remoteCode: 'METHOD_NOT_FOUND' });
  });

  it('runs guards before handlers and answers their errors', async () => {
    const { server, client } = await rpcPair();
    let ran = 0;
    server.use((method) => {
      if (method === 'secret') throw new IpcError('AUTH', 'forbidden');
    });
    server.handle('secret', () => ran++);
    server.handle('open', () => 'ok');
    expect(await rejection(client.request('secret'))).toMatchObject({ remoteCode: 'AUTH' });
    expect(ran).toBe(0);
    expect(await client.request('open')).toBe('ok');
  });

  it('reports an unencodable result as a SERIALIZATION remote error', async () => {
    const { server, client } = await rpcPair({ dialect: openclawJson });
    server.handle('big', () => 10n);
    // openclaw-ipc JSON carries no codes: only the text crosses
    const err = await rejection(client.request('big'));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toMatch(/JSON/);
  });
});

describe('notify', () => {
  it('delivers a one-way message to server listeners with its connection', async () => {
    const { server, client } = await rpcPair();
    const got: unknown[] = [];
    server.on('log', (data, ctx) => got.push([data, ctx.eventType, ctx.connection !== undefined]));
    await client.notify('log', { line: 1 });
    await until(() => got.length === 1);
    expect(got).toEqual([[{ line: 1 }, 'log', true]]);
  });

  it('runs the handler of a method notified, dropping its result', async () => {
    const { server, client } = await rpcPair();
    const seen: unknown[] = [];
    server.handle('store', (p) => {
      seen.push(p);
      return 'ignored';
    });
    await client.notify('store', 7);
    await until(() => seen.length === 1);
    expect(seen).toEqual([7]);
  });

  it('rejects MESSAGE_TOO_LARGE over the limit and CLOSED after close', async () => {
    const { client } = await rpcPair({ client: { maxMessageSize: 100 } });
    const err = await rejection(client.notify('log', 'x'.repeat(200)));
    expect(err).toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { limit: 100 } });
    expect(err.details.size).toBeGreaterThan(200);
    client.close();
    expect(await rejection(client.notify('log', 1))).toMatchObject({ code: 'CLOSED' });
  });
});

describe('timeouts', () => {
  it('rejects TIMEOUT after the client default', async () => {
    const { server, client } = await rpcPair({ client: { timeout: 20 } });
    const g = gate();
    server.handle('hang', () => g.promise);
    const err = await rejection(client.request('hang'));
    expect(err).toMatchObject({ code: 'TIMEOUT', details: { timeoutMs: 20 } });
    expect(client.inFlight).toBe(0);
    g.open();
  });

  it('takes a per-call timeout over the default, and 0 for none', async () => {
    const { server, client } = await rpcPair({ client: { timeout: 0 } });
    const g = gate<string>();
    server.handle('hang', () => g.promise);
    expect(await rejection(client.request('hang', {}, { timeout: 15 }))).toMatchObject({ code: 'TIMEOUT' });

    const { server: s2, client: c2 } = await rpcPair({ client: { timeout: 10 } });
    s2.handle('slow', async () => {
      await delay(40);
      return 'done';
    });
    await expect(c2.request('slow', {}, { timeout: 0 })).resolves.toBe('done');
    g.open('x');
  });

  it('ignores a response arriving after the timeout', async () => {
    const errors: IpcError[] = [];
    const { server, client } = await rpcPair({ client: { timeout: 10, onError: (e) => errors.push(e) } });
    const g = gate<string>();
    server.handle('late', () => g.promise);
    await rejection(client.request('late'));
    g.open('too late');
    server.handle('echo', (p) => p);
    expect(await client.request('echo', 1)).toBe(1);
    expect(errors).toEqual([]);
  });
});

describe('cancellation', () => {
  it('rejects ABORTED at once for an aborted signal, before sending', async () => {
    const { client, listener } = await rpcPair();
    const ac = new AbortController();
    ac.abort('no');
    expect(await rejection(client.request('x', {}, { signal: ac.signal }))).toMatchObject({
      code: 'ABORTED',
      cause: 'no',
    });
    const serverEnd = [...listener.links][0]!;
    expect(serverEnd.peer.sent).toHaveLength(0);
  });

  it('aborts the server handler through CANCEL_EVENT with the msgpack dialect', async () => {
    const { server, client, listener } = await rpcPair({ dialect: msgpackDialect });
    let handlerSignal: AbortSignal | undefined;
    server.handle('work', (_p, ctx) => {
      handlerSignal = ctx.signal;
      return new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
      );
    });
    const ac = new AbortController();
    const call = client.request('work', {}, { signal: ac.signal });
    await until(() => handlerSignal !== undefined);
    ac.abort();
    expect(await rejection(call)).toMatchObject({ code: 'ABORTED' });
    await until(() => handlerSignal!.aborted);
    expect(handlerSignal!.reason).toMatchObject({ code: 'ABORTED' });
    const frames = [...listener.links][0]!.peer.sent.map((f) => msgpackDialect.decode(f));
    expect(frames.at(-1)).toMatchObject({ payload: { type: 'event', event_type: CANCEL_EVENT } });
    // the connection still serves
    server.handle('echo', (p) => p);
    expect(await client.request('echo', 2)).toBe(2);
  });

  it('sends no cancel where the dialect cannot say so (openclaw-ipc JSON)', async () => {
    const { server, client, listener } = await rpcPair({ dialect: openclawJson });
    let handlerSignal: AbortSignal | undefined;
    const g = gate();
    server.handle('work', async (_p, ctx) => {
      handlerSignal = ctx.signal;
      await g.promise;
    });
    const ac = new AbortController();
    const call = client.request('work', {}, { signal: ac.signal });
    await until(() => handlerSignal !== undefined);
    ac.abort();
    expect(await rejection(call)).toMatchObject({ code: 'ABORTED' });
    const sent = [...listener.links][0]!.peer.sent;
    expect(sent).toHaveLength(1);
    expect(handlerSignal!.aborted).toBe(false);
    g.open();
  });

  it('aborts the handler signal when the caller disconnects', async () => {
    const { server, client } = await rpcPair();
    let handlerSignal: AbortSignal | undefined;
    server.handle('work', (_p, ctx) => {
      handlerSignal = ctx.signal;
      return new Promise(() => {});
    });
    const call = client.request('work');
    await until(() => handlerSignal !== undefined);
    client.close();
    expect(await rejection(call)).toMatchObject({ code: 'CLOSED' });
    await until(() => handlerSignal!.aborted);
    expect(handlerSignal!.reason).toMatchObject({ code: 'CLOSED' });
    await until(() => server.connections.size === 0);
  });
});

describe('closing', () => {
  it('rejects every pending request CLOSED on client.close(), and later calls too', async () => {
    const { server, client } = await rpcPair();
    server.handle('hang', () => new Promise(() => {}));
    const calls = Array.from({ length: 5 }, () => rejection(client.request('hang')));
    await delay(5);
    client.close();
    for (const err of await Promise.all(calls)) expect(err).toMatchObject({ code: 'CLOSED' });
    expect(client.state).toBe('closed');
    expect(client.inFlight).toBe(0);
    expect(await rejection(client.request('hang'))).toMatchObject({ code: 'CLOSED' });
    client.close(); // twice is fine
  });

  it('rejects every pending request CLOSED when the link closes (no reconnect)', async () => {
    const { server, client, listener } = await rpcPair({ client: { reconnect: false } });
    server.handle('hang', () => new Promise(() => {}));
    const calls = Array.from({ length: 3 }, () => rejection(client.request('hang')));
    await until(() => listener.links.size === 1);
    await delay(5);
    listener.dropAll();
    for (const err of await Promise.all(calls)) expect(err).toMatchObject({ code: 'CLOSED' });
    expect(client.state).toBe('closed');
  });

  it('rejects pending requests CLOSED when the server closes while handlers run', async () => {
    const { server, client } = await rpcPair({ client: { reconnect: false } });
    const signals: AbortSignal[] = [];
    server.handle('hang', (_p, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    const calls = [rejection(client.request('hang')), rejection(client.request('hang'))];
    await until(() => signals.length === 2);
    await server.close();
    for (const err of await Promise.all(calls)) expect(err).toMatchObject({ code: 'CLOSED' });
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(server.connections.size).toBe(0);
  });

  it('does not answer on a link that closed while the handler ran', async () => {
    const { server, client, listener } = await rpcPair({ client: { reconnect: false } });
    const g = gate<string>();
    server.handle('slow', () => g.promise);
    const call = rejection(client.request('slow'));
    await delay(5);
    const serverEnd = [...listener.links][0]!;
    client.close();
    expect(await call).toMatchObject({ code: 'CLOSED' });
    g.open('late');
    await delay(5);
    expect(serverEnd.sent).toHaveLength(0);
  });
});

describe('limits', () => {
  it('rejects CAPACITY over maxInFlight and accepts again once one settles', async () => {
    const { server, client } = await rpcPair({ client: { maxInFlight: 2 } });
    const g = gate<number>();
    server.handle('hang', () => g.promise);
    server.handle('echo', (p) => p);
    const a = client.request('hang');
    const b = client.request('hang');
    expect(await rejection(client.request('echo', 1))).toMatchObject({
      code: 'CAPACITY',
      details: { maxInFlight: 2 },
    });
    g.open(1);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(await client.request('echo', 3)).toBe(3);
  });

  it('rejects a request over maxMessageSize locally with MESSAGE_TOO_LARGE', async () => {
    const { server, client, listener } = await rpcPair({ client: { maxMessageSize: 256 } });
    server.handle('echo', (p) => p);
    const err = await rejection(client.request('echo', 'x'.repeat(300)));
    expect(err).toMatchObject({ code: 'MESSAGE_TOO_LARGE', details: { limit: 256 } });
    expect(err.details.size).toBeGreaterThan(256);
    expect([...listener.links][0]!.peer.sent).toHaveLength(0);
    expect(await client.request('echo', 'small')).toBe('small');
  });

  it('answers a reply over the server maxMessageSize with MESSAGE_TOO_LARGE', async () => {
    const { server, client } = await rpcPair({ server: { maxMessageSize: 256 } });
    server.handle('blob', (n: number) => 'y'.repeat(n));
    expect(await rejection(client.request('blob', 1000))).toMatchObject({
      code: 'REMOTE',
      remoteCode: 'MESSAGE_TOO_LARGE',
    });
    expect(await client.request('blob', 10)).toBe('y'.repeat(10));
  });

  it('answers CAPACITY over maxConcurrent per connection', async () => {
    const { server, client } = await rpcPair({ server: { maxConcurrent: 2 } });
    const g = gate<string>();
    server.handle('hang', () => g.promise);
    const a = client.request('hang');
    const b = client.request('hang');
    expect(await rejection(client.request('hang'))).toMatchObject({ remoteCode: 'CAPACITY' });
    g.open('ok');
    expect(await Promise.all([a, b])).toEqual(['ok', 'ok']);
    expect(await client.request('hang')).toBe('ok');
  });

  it('closes connections over maxConnections with CAPACITY and keeps serving the others', async () => {
    const { server, client, network, name } = await rpcPair({ server: { maxConnections: 1 } });
    server.handle('echo', (p) => p);
    const states: string[] = [];
    const second = new RpcClient({
      dialect: msgpackDialect,
      link: network.connector(name),
      reconnect: false,
    });
    onCleanup(() => second.close());
    second.onState((s, e) => states.push(`${s}:${e?.code ?? ''}`));
    const err = await rejection(second.start());
    expect(err).toMatchObject({ code: 'CLOSED' });
    expect(err.message).toMatch(/capacity/);
    expect(states).toEqual(['closed:CLOSED']);
    expect(server.connections.size).toBe(1);
    expect(await client.request('echo', 'still')).toBe('still');
  });

  it('closes only the link that sent an undecodable frame', async () => {
    const errors: IpcError[] = [];
    const { server, client, network, name } = await rpcPair({ server: { onError: (e) => errors.push(e) } });
    server.handle('echo', (p) => p);
    const raw = await network.connector(name)();
    let closedWith: IpcError | undefined | null = null;
    raw.attach({ onFrame: () => {}, onClose: (e) => (closedWith = e) });
    raw.send(new Uint8Array([0xc1, 0x00]));
    await until(() => closedWith !== null);
    expect(closedWith).toMatchObject({ code: 'CLOSED' });
    expect(errors[0]?.code).toMatch(/SERIALIZATION|PROTOCOL/);
    expect(await client.request('echo', 'fine')).toBe('fine');
  });
});

describe('links', () => {
  it('the in-memory link pair delivers in order and reports close once', async () => {
    const [a, b] = memoryLinkPair();
    const got: unknown[] = [];
    let closes = 0;
    b.attach({ onFrame: (f) => got.push(f), onClose: () => closes++ });
    a.attach({ onFrame: () => {}, onClose: () => {} });
    a.send('1');
    a.send('2');
    a.close();
    a.close();
    await until(() => closes === 1);
    expect(got).toEqual(['1', '2']);
    expect(() => a.send('3')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

describe('cleanup after settling', () => {
  it('removes the abort listener and timer of a settled request (no late cancel, no late TIMEOUT)', async () => {
    const errors: IpcError[] = [];
    const { server, client, listener } = await rpcPair({
      client: { timeout: 20, onError: (e) => errors.push(e) },
    });
    server.handle('echo', (p) => p);
    const ac = new AbortController();
    expect(await client.request('echo', 1, { signal: ac.signal })).toBe(1);
    ac.abort();
    await delay(40); // past the timeout the request had
    const sent = [...listener.links][0]!.peer.sent;
    expect(sent).toHaveLength(1); // the request only: no $/cancel after it settled
    expect(errors).toEqual([]);
    expect(client.inFlight).toBe(0);
  });
});

describe('a server that sends garbage', () => {
  it('the client reports SERIALIZATION, drops that link and fails what was sent on it', async () => {
    const { MemoryNetwork } = await import('./util/memory-link.js');
    const network = new MemoryNetwork();
    const listener = network.listen('garbage');
    listener.onLink((link) => {
      link.attach({
        onFrame: () => {
          link.send(new Uint8Array([0xc1]));
        },
        onClose: () => {},
      });
    });
    onCleanup(() => listener.close());
    const errors: IpcError[] = [];
    const client = await RpcClient.connect({
      dialect: msgpackDialect,
      link: network.connector('garbage'),
      reconnect: false,
      onError: (e) => errors.push(e),
    });
    onCleanup(() => client.close());
    expect(await rejection(client.request('x'))).toMatchObject({ code: 'CLOSED' });
    expect(errors.map((e) => e.code)).toContain('PROTOCOL');
    expect(client.state).toBe('closed');
  });
});

describe('handlers run for notifications count against maxConcurrent and abort on disconnect', () => {
  it('counts them against maxConcurrent, aborts them on disconnect, reports their failures', async () => {
    const errors: IpcError[] = [];
    const { server, client } = await rpcPair({
      server: { maxConcurrent: 2, onError: (e) => errors.push(e) },
    });
    const signals: AbortSignal[] = [];
    server.handle('work', (_p, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    for (let i = 0; i < 5; i++) await client.notify('work', i);
    await until(() => errors.filter((e) => e.code === 'CAPACITY').length === 3);
    expect(signals).toHaveLength(2);
    client.close();
    await until(() => signals.every((s) => s.aborted));
    expect(signals[0]!.reason).toMatchObject({ code: 'CLOSED' });

    const { client: c2 } = await rpcPair({ server: { onError: (e) => errors.push(e) } }).then(async (p) => {
      p.server.handle('bad', () => {
        throw new IpcError('AUTH', 'not you');
      });
      return p;
    });
    await c2.notify('bad', {});
    await until(() => errors.some((e) => e.code === 'REMOTE'));
    expect(errors.find((e) => e.code === 'REMOTE')?.message).toMatch(/not you/);
  });
});
