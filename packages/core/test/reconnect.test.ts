import {
  type ConnectionState,
  defineContract,
  type IpcError,
  method,
  msgpackDialect,
  ReconnectPolicy,
  RpcClient,
  RpcServer,
  sleep,
} from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { onCleanup, rejection, rpcPair, until } from './util/harness.js';
import { MemoryNetwork } from './util/memory-link.js';

const fast = { minDelay: 1, maxDelay: 4 };

describe('ReconnectPolicy', () => {
  it('grows the ceiling by factor from minDelay up to maxDelay (jitter off)', () => {
    const p = new ReconnectPolicy({ minDelay: 100, maxDelay: 1000, factor: 2, jitter: false });
    expect([0, 1, 2, 3, 4, 10, 1000].map((a) => p.delay(a))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('draws a full-jitter delay between minDelay and the ceiling', () => {
    const p = new ReconnectPolicy({ minDelay: 100, maxDelay: 1000 });
    expect(p.delay(3, () => 0)).toBe(100);
    expect(p.delay(3, () => 0.5)).toBe(450);
    expect(p.delay(3, () => 0.999999)).toBeCloseTo(800, 2);
  });

  it('always stays within its bounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.nat(2000),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (minDelay, extra, factor, attempt, r) => {
          const p = new ReconnectPolicy({ minDelay, maxDelay: minDelay + extra, factor });
          const d = p.delay(attempt, () => r);
          return d >= minDelay && d <= minDelay + extra && Number.isFinite(d);
        },
      ),
    );
  });

  it('counts attempts against maxAttempts and rejects invalid options', () => {
    const p = new ReconnectPolicy({ maxAttempts: 3 });
    expect([0, 1, 2, 3].map((n) => p.allows(n))).toEqual([true, true, true, false]);
    expect(new ReconnectPolicy().allows(1e9)).toBe(true);
    for (const bad of [
      { minDelay: -1 },
      { minDelay: 10, maxDelay: 5 },
      { factor: 0.5 },
      { maxAttempts: 0 },
    ]) {
      expect(() => new ReconnectPolicy(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('sleep() rejects ABORTED when its signal fires', async () => {
    const ac = new AbortController();
    const s = sleep(10_000, ac.signal);
    ac.abort();
    expect(await rejection(s)).toMatchObject({ code: 'ABORTED' });
  });
});

/** A client whose state changes are recorded from its very first one. */
function recordedClient(network: MemoryNetwork, name: string, options: Record<string, unknown> = {}) {
  const client = new RpcClient({ dialect: msgpackDialect, link: network.connector(name), ...options });
  const states: string[] = [client.state];
  client.onState((s: ConnectionState) => states.push(s));
  onCleanup(() => client.close());
  return { client, states };
}

function serve(network: MemoryNetwork, name: string) {
  const server = new RpcServer({ dialect: msgpackDialect });
  const listener = network.listen(name);
  server.serve(listener);
  onCleanup(() => server.close());
  return { server, listener };
}

describe('reconnect', () => {
  it('shows connecting → open → reconnecting → open → closed', async () => {
    const network = new MemoryNetwork();
    const { server, listener } = serve(network, 'a');
    server.handle('echo', (p) => p);
    const { client, states } = recordedClient(network, 'a', { reconnect: fast });
    await client.start();
    listener.dropAll();
    await until(() => states.length === 4);
    expect(await client.request('echo', 1)).toBe(1);
    client.close();
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
  });

  it('reaches a server that comes back after a while', async () => {
    const network = new MemoryNetwork();
    const first = serve(network, 'b');
    const { client, states } = recordedClient(network, 'b', { reconnect: fast });
    await client.start();
    await first.server.close();
    await until(() => (network.dials.get('b') ?? 0) >= 4);
    expect(client.state).toBe('reconnecting');
    const second = serve(network, 'b');
    second.server.handle('who', () => 'second');
    await until(() => client.state === 'open');
    expect(await client.request('who')).toBe('second');
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });

  it('gives up after maxAttempts and closes, rejecting what waited', async () => {
    const network = new MemoryNetwork();
    const { server } = serve(network, 'c');
    const { client, states } = recordedClient(network, 'c', { reconnect: { ...fast, maxAttempts: 3 } });
    let lastError: IpcError | undefined;
    client.onState((_s, e) => (lastError = e));
    await client.start();
    await server.close();
    await until(() => client.state === 'reconnecting');
    const waiting = rejection(client.request('x'));
    await until(() => client.state === 'closed');
    expect(network.dials.get('c')).toBe(1 + 3);
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'closed']);
    expect(lastError).toMatchObject({ code: 'CONNECT' });
    expect(await waiting).toMatchObject({ code: 'CONNECT' });
    expect(await rejection(client.request('x'))).toMatchObject({ code: 'CLOSED' });
  });

  it('fails fast on the first connection unless retryInitialConnect', async () => {
    const network = new MemoryNetwork();
    const { client, states } = recordedClient(network, 'd', { reconnect: fast });
    expect(await rejection(client.start())).toMatchObject({ code: 'CONNECT' });
    expect(states).toEqual(['connecting', 'closed']);

    const late = recordedClient(network, 'e', { reconnect: fast, retryInitialConnect: true });
    const started = late.client.start();
    await until(() => (network.dials.get('e') ?? 0) >= 3);
    const { server } = serve(network, 'e');
    server.handle('ping', () => 'pong');
    await started;
    expect(await late.client.request('ping')).toBe('pong');
    expect(late.states).toEqual(['connecting', 'open']);
  });

  it('close() during the backoff stops the loop', async () => {
    const network = new MemoryNetwork();
    const { server } = serve(network, 'f');
    const { client, states } = recordedClient(network, 'f', {
      reconnect: { minDelay: 5_000, maxDelay: 5_000 },
    });
    await client.start();
    await server.close();
    await until(() => client.state === 'reconnecting');
    const dials = network.dials.get('f');
    client.close();
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'closed']);
    expect(network.dials.get('f')).toBe(dials);
  });

  it('closes instead when reconnect is false', async () => {
    const { client, listener } = await rpcPair({ client: { reconnect: false } });
    listener.dropAll();
    await until(() => client.state === 'closed');
    expect(await rejection(client.request('x'))).toMatchObject({ code: 'CLOSED' });
  });
});

describe('no blind replay', () => {
  const contract = defineContract({
    methods: {
      read: method<{ k: string }, string>({ idempotent: true }),
      write: method<{ k: string }, string>(),
    },
    events: {},
  });

  async function flakyPair(options: Record<string, unknown> = {}) {
    const network = new MemoryNetwork();
    const { server, listener } = serve(network, 'r');
    const calls: Record<string, number> = {};
    let hold = true;
    const release: Array<() => void> = [];
    const handler = (name: string) => async () => {
      calls[name] = (calls[name] ?? 0) + 1;
      // The first run of each call hangs until the link is dropped; runs after reconnect answer.
      if (hold) await new Promise<void>((r) => release.push(r));
      return `${name}-done`;
    };
    for (const m of ['read', 'write', 'other']) server.handle(m, handler(m));
    const client = new RpcClient({
      dialect: msgpackDialect,
      link: network.connector('r'),
      reconnect: fast,
      contract,
      ...options,
    });
    onCleanup(() => client.close());
    await client.start();
    const drop = async () => {
      listener.dropAll();
      hold = false;
      for (const r of release) r();
    };
    return { client, calls, drop, server };
  }

  it('rejects a non-idempotent request sent before a disconnect with CLOSED', async () => {
    const { client, calls, drop } = await flakyPair();
    const write = rejection(client.request('write', { k: 'a' }));
    await until(() => calls.write === 1);
    await drop();
    expect(await write).toMatchObject({ code: 'CLOSED' });
    await until(() => client.state === 'open');
    expect(calls.write).toBe(1);
  });

  it('re-sends a method idempotent by contract after the reconnect', async () => {
    const { client, calls, drop } = await flakyPair();
    const read = client.request('read', { k: 'a' });
    await until(() => calls.read === 1);
    await drop();
    expect(await read).toBe('read-done');
    expect(calls.read).toBe(2);
  });

  it('re-sends a method idempotent by option, or by the per-call flag', async () => {
    const { client, calls, drop } = await flakyPair({ idempotent: ['other'] });
    const other = client.request('other' as never, {} as never);
    const write = client.request('write', { k: 'b' }, { idempotent: true });
    await until(() => calls.other === 1 && calls.write === 1);
    await drop();
    expect(await other).toBe('other-done');
    expect(await write).toBe('write-done');
    expect(calls).toEqual({ other: 2, write: 2 });
  });

  it('a per-call idempotent:false overrides the contract', async () => {
    const { client, calls, drop } = await flakyPair();
    const read = rejection(client.request('read', { k: 'a' }, { idempotent: false }));
    await until(() => calls.read === 1);
    await drop();
    expect(await read).toMatchObject({ code: 'CLOSED' });
  });

  it('sends requests made while reconnecting once the link is back (not a replay)', async () => {
    const network = new MemoryNetwork();
    const first = serve(network, 'q');
    const { client } = recordedClient(network, 'q', { reconnect: fast });
    await client.start();
    await first.server.close();
    await until(() => client.state === 'reconnecting');
    const queued = client.request('write', {});
    const second = serve(network, 'q');
    let runs = 0;
    second.server.handle('write', () => ++runs);
    expect(await queued).toBe(1);
    expect(runs).toBe(1);
  });
});

describe('a link that closes before attach leaves the client closed, not open', () => {
  it('a client without reconnect ends closed and connect() rejects CLOSED', async () => {
    const network = new MemoryNetwork();
    const server = new RpcServer({ dialect: msgpackDialect, maxConnections: 0 });
    server.serve(network.listen('z'));
    onCleanup(() => server.close());
    const { client, states } = recordedClient(network, 'z', { reconnect: false });
    expect(await rejection(client.start())).toMatchObject({ code: 'CLOSED' });
    expect(client.state).toBe('closed');
    expect(states).toEqual(['connecting', 'closed']);
  });

  it('a client with reconnect stays reconnecting, never "open" without a link', async () => {
    const network = new MemoryNetwork();
    const server = new RpcServer({ dialect: msgpackDialect, maxConnections: 0 });
    server.serve(network.listen('y'));
    onCleanup(() => server.close());
    const { client, states } = recordedClient(network, 'y', {
      reconnect: { ...fast, maxAttempts: 3 },
      retryInitialConnect: true,
    });
    expect(await rejection(client.start())).toMatchObject({ code: 'CONNECT' });
    // each accepted-and-closed link counted as a failed attempt, so the policy's bound holds
    expect(network.dials.get('y')).toBe(3);
    expect(states).toEqual(['connecting', 'closed']);
  });
});

describe('requests made before a failed start() reject at once', () => {
  it('rejects them with the connect error at once', async () => {
    const network = new MemoryNetwork();
    const { client } = recordedClient(network, 'nobody', { timeout: 0 });
    const early = rejection(client.request('x'));
    expect(await rejection(client.start())).toMatchObject({ code: 'CONNECT' });
    expect(await early).toMatchObject({ code: 'CONNECT' });
    expect(client.inFlight).toBe(0);
  });
});

describe('a throwing onState listener does not stop close()', () => {
  it('reports the throw and still closes the link', async () => {
    const errors: IpcError[] = [];
    const { server, client } = await rpcPair({ client: { onError: (e) => errors.push(e) } });
    await until(() => server.connections.size === 1);
    client.onState(() => {
      throw new Error('observer bug');
    });
    expect(() => client.close()).not.toThrow();
    expect(client.state).toBe('closed');
    await until(() => server.connections.size === 0);
    expect(errors.map((e) => e.message)).toContain('observer bug');
  });
});
