/**
 * An RpcClient over several routes (failover.ts), over the in-memory network: the order of the
 * routes, the return to an earlier one only once nothing sent is pending, probeInterval 0, bad
 * input. Across processes and transports: openclaw-ipc's test/failover-two-process.test.ts.
 */
import { msgpackDialect, openclawJson, RpcClient, RpcServer } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { delay, onCleanup, rejection, until } from './util/harness.js';
import { MemoryNetwork } from './util/memory-link.js';

function serve(network: MemoryNetwork, name: string, dialect = msgpackDialect) {
  const server = new RpcServer({
    dialect,
    handlers: {
      who: () => name,
      slow: (p: { ms: number }) => delay(p.ms).then(() => `${name} slept`),
    },
  });
  const listener = network.listen(name);
  server.serve(listener);
  onCleanup(() => server.close());
  return { server, listener };
}

function failoverClient(
  network: MemoryNetwork,
  probeInterval: number,
  dialects = [msgpackDialect, msgpackDialect],
) {
  return RpcClient.connect({
    dialect: dialects[0]!,
    routes: [
      { url: 'memory://a', dialect: dialects[0]!, link: network.connector('a') },
      { url: 'memory://b', dialect: dialects[1]!, link: network.connector('b') },
    ],
    probeInterval,
    reconnect: { minDelay: 1, maxDelay: 5 },
  });
}

describe('failover routes', () => {
  it('connect to the first route that answers, in order, and say which in client.url', async () => {
    const network = new MemoryNetwork();
    serve(network, 'b');
    const client = await failoverClient(network, 0);
    onCleanup(() => client.close());
    expect(client.url).toBe('memory://b');
    expect(await client.request('who')).toBe('b');
    expect(network.dials.get('a')).toBe(1);
  });

  it('go back to the first route once it answers, only after the request in flight on the second is answered', async () => {
    const network = new MemoryNetwork();
    serve(network, 'b', openclawJson);
    const client = await failoverClient(network, 5, [msgpackDialect, openclawJson]);
    onCleanup(() => client.close());
    const urls: string[] = [];
    client.onState((state, _e, url) => urls.push(`${state} ${url}`));
    expect(client.url).toBe('memory://b');
    const slow = client.request('slow', { ms: 100 });
    await delay(5);
    const dialled = network.dials.get('a') ?? 0;
    serve(network, 'a');
    // Made while the switch waits: sent once, to a.
    await until(() => (network.dials.get('a') ?? 0) > dialled);
    await delay(1); // the probe's dial has completed: a is the standby
    const who = client.request('who');
    expect(await slow).toBe('b slept');
    expect(await who).toBe('a');
    expect(client.url).toBe('memory://a');
    expect(urls).toEqual(['reconnecting memory://a', 'open memory://a']);
    expect(client.stats().reconnects).toBe(1);
  });

  it('stay on the second route with probeInterval 0 until it is lost', async () => {
    const network = new MemoryNetwork();
    const b = serve(network, 'b');
    const client = await failoverClient(network, 0);
    onCleanup(() => client.close());
    serve(network, 'a');
    await delay(30);
    expect(await client.request('who')).toBe('b');
    expect(network.dials.get('a')).toBe(1);
    b.listener.dropAll();
    await until(() => client.url === 'memory://a' && client.state === 'open');
    expect(await client.request('who')).toBe('a');
  });

  it('refuse link and routes together, no route, and a negative probeInterval with INVALID_ARGUMENT', () => {
    const network = new MemoryNetwork();
    const route = { url: 'memory://a', dialect: msgpackDialect, link: network.connector('a') };
    for (const options of [
      { dialect: msgpackDialect, link: network.connector('a'), routes: [route] },
      { dialect: msgpackDialect, routes: [] },
      { dialect: msgpackDialect, routes: [route], probeInterval: -5 },
    ]) {
      expect(() => new RpcClient(options)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('reject CONNECT naming every route when none answers', async () => {
    const err = await rejection(failoverClient(new MemoryNetwork(), 0));
    expect(err.code).toBe('CONNECT');
    expect(err.details.failures.map((f: { url: string }) => f.url)).toEqual(['memory://a', 'memory://b']);
  });
});
