/**
 * stats(), the latency histogram, the diagnostics channels and the debug log, over the
 * in-memory link. Across processes over unix, ws and nng: openclaw-ipc's
 * test/observability-two-process.test.ts.
 */
import { spawnSync } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHANNELS,
  type ClientRequestTrace,
  HISTOGRAM_BUCKETS,
  IpcError,
  LatencyHistogram,
  type ServerRequestTrace,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { delay, rejection, rpcPair, until } from './util/harness.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('LatencyHistogram', () => {
  it('has a fixed number of buckets and reads percentiles within 1/16 of the true value', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 100); // 0.01 ms .. 100 ms, uniform
    const s = h.summary();
    expect(HISTOGRAM_BUCKETS).toBe(448);
    expect(s.count).toBe(10_000);
    expect(s.max).toBe(100);
    for (const [q, got] of [
      [0.5, s.p50],
      [0.9, s.p90],
      [0.99, s.p99],
    ] as const) {
      expect(Math.abs(got - q * 100) / (q * 100)).toBeLessThan(1 / 16);
    }
    expect(s.mean).toBeCloseTo(50.005, 1);
  });

  it('counts values past its range in its last bucket, and zeros when empty', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    h.record(10 * 3600_000); // ten hours
    h.record(-1);
    h.record(Number.NaN);
    expect(h.summary().count).toBe(3);
    expect(h.percentile(1)).toBe(10 * 3600_000);
  });
});

describe('stats()', () => {
  it('count requests, errors by code, bytes both ways and latency on client and server', async () => {
    const { server, client } = await rpcPair();
    server.handle('echo', (p) => p);
    server.handle('slow', () => delay(20).then(() => 'late'));
    server.handle('fail', () => {
      throw new IpcError('AUTH', 'no');
    });
    for (let i = 0; i < 10; i++) await client.request('echo', { i });
    const slow = client.request('slow');
    await until(() => server.stats().inFlight === 1);
    expect(client.stats().inFlight).toBe(1);
    await slow;
    await rejection(client.request('fail'));
    await rejection(client.request('nope'));
    await rejection(client.request('slow', {}, { timeout: 1 }));

    const c = client.stats();
    expect(c.total).toBe(14);
    expect(c.inFlight).toBe(0);
    expect(c.errors).toEqual({ REMOTE: 2, TIMEOUT: 1 });
    expect(c.latency.count).toBe(14);
    expect(c.latency.max).toBeGreaterThan(c.latency.p50);
    expect(c.bytesOut).toBeGreaterThan(0);
    expect(c.reconnects).toBe(0);
    await until(() => server.stats().inFlight === 0);
    const s = server.stats();
    expect(s.total).toBe(14);
    expect(s.errors).toEqual({ AUTH: 1, METHOD_NOT_FOUND: 1 });
    expect(s.connections).toBe(1);
    expect(s.connectionsTotal).toBe(1);
    // What one end wrote, the other read (the memory link loses nothing).
    expect(s.bytesIn).toBe(c.bytesOut);
    await until(() => client.stats().bytesIn === server.stats().bytesOut);
    expect(s.latency.count).toBe(14);
  });

  it("counts a server's capacity refusals under CAPACITY", async () => {
    const { server, client } = await rpcPair({ server: { maxConcurrent: 1 } });
    server.handle('slow', () => delay(30).then(() => 'done'));
    const first = client.request('slow');
    const refused = await rejection(client.request('slow'));
    expect(refused.remoteCode).toBe('CAPACITY');
    expect(await first).toBe('done');
    expect(server.stats().errors).toEqual({ CAPACITY: 1 });
    expect(client.stats().errors).toEqual({ REMOTE: 1 });
  });

  it('count reconnects', async () => {
    const { server, client, listener } = await rpcPair({
      client: { reconnect: { minDelay: 1, maxDelay: 5 } },
    });
    server.handle('echo', (p) => p);
    for (const link of listener.links) link.close();
    await until(() => client.stats().reconnects === 1 && client.state === 'open');
    expect(await client.request('echo', 1)).toBe(1);
    expect(client.stats().reconnects).toBe(1);
    expect(server.stats().connectionsTotal).toBe(2);
  });
});

describe('diagnostics channels', () => {
  it('trace each request on both ends: start, end, asyncStart, asyncEnd, error, with method, transport, peer and sizes', async () => {
    const events: string[] = [];
    const clientTraces: ClientRequestTrace[] = [];
    const serverTraces: ServerRequestTrace[] = [];
    const client$ = diagnostics_channel.tracingChannel(CHANNELS.clientRequest);
    const server$ = diagnostics_channel.tracingChannel(CHANNELS.serverRequest);
    const listen = (side: string, traces: object[]) => ({
      start: (m: any) => {
        events.push(`${side} start ${m.method}`);
        traces.push(m);
      },
      end: (m: any) => events.push(`${side} end ${m.method}`),
      asyncStart: (m: any) => events.push(`${side} asyncStart ${m.method}`),
      asyncEnd: (m: any) => events.push(`${side} asyncEnd ${m.method}`),
      error: (m: any) => events.push(`${side} error ${m.method} ${m.error.code}`),
    });
    const clientHandlers = listen('client', clientTraces);
    const serverHandlers = listen('server', serverTraces);
    client$.subscribe(clientHandlers);
    server$.subscribe(serverHandlers);
    try {
      const { server, client } = await rpcPair();
      server.handle('echo', async (p) => p);
      server.handle('fail', () => {
        throw new IpcError('AUTH', 'no');
      });
      expect(await client.request('echo', 'hi')).toBe('hi');
      expect(events).toEqual([
        'client start echo',
        'client end echo',
        'server start echo',
        'server end echo',
        'server asyncStart echo',
        'server asyncEnd echo',
        'client asyncStart echo',
        'client asyncEnd echo',
      ]);
      const ct = clientTraces[0]!;
      expect(ct).toMatchObject({ method: 'echo', params: 'hi', transport: 'memory', result: 'hi' });
      expect(ct.peer).toMatch(/^memory:/);
      expect(ct.id).toBeTypeOf('string');
      expect(ct.requestSize).toBeGreaterThan(0);
      expect(ct.responseSize).toBeGreaterThan(0);
      const st = serverTraces[0]!;
      expect(st).toMatchObject({ method: 'echo', id: ct.id, transport: 'memory', result: 'hi' });
      expect(st.requestSize).toBe(ct.requestSize);

      events.length = 0;
      await rejection(client.request('fail'));
      expect(events).toContain('server error fail AUTH');
      expect(events).toContain('client error fail REMOTE');
    } finally {
      client$.unsubscribe(clientHandlers);
      server$.unsubscribe(serverHandlers);
    }
  });

  it('report connection open and close and reconnect attempts with the delay chosen', async () => {
    const seen: string[] = [];
    const subs: Array<[string, (m: any) => void]> = [
      [CHANNELS.clientOpen, (m) => seen.push(`open ${m.transport}`)],
      [CHANNELS.clientClose, (m) => seen.push(`close ${m.error?.code ?? 'clean'}`)],
      [CHANNELS.clientReconnect, (m) => seen.push(`reconnect ${m.attempt} ${typeof m.delay}`)],
      [CHANNELS.serverConnectionOpen, (m) => seen.push(`server open ${m.transport}`)],
      [CHANNELS.serverConnectionClose, () => seen.push('server close')],
    ];
    for (const [name, fn] of subs) diagnostics_channel.subscribe(name, fn);
    try {
      const { client, listener } = await rpcPair({ client: { reconnect: { minDelay: 1, maxDelay: 5 } } });
      for (const link of listener.links) link.close();
      await until(() => client.stats().reconnects === 1 && client.state === 'open');
      client.close();
      await until(() => seen.filter((s) => s === 'server close').length === 2);
      expect(seen.filter((s) => !s.startsWith('server'))).toEqual([
        'open memory',
        'close CLOSED',
        'reconnect 1 number',
        'open memory',
        'close clean',
      ]);
      expect(seen.filter((s) => s === 'server open memory')).toHaveLength(2);
    } finally {
      for (const [name, fn] of subs) diagnostics_channel.unsubscribe(name, fn);
    }
  });
});

describe('debug log', () => {
  it('prints connects, reconnects with their delay, decode errors and capacity refusals with NODE_DEBUG=openclaw-ipc, nothing without', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(
        process.execPath,
        ['--conditions=@openclaw-ipc/source', '--import', 'tsx', join(here, 'fixtures', 'debuglog-child.ts')],
        { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 },
      );
    const on = run({ NODE_DEBUG: 'openclaw-ipc' });
    expect(on.status).toBe(0);
    expect(on.stderr).toMatch(/OPENCLAW-IPC \d+: client: connected over memory/);
    expect(on.stderr).toMatch(/client: reconnect attempt 1 in \d+ ms/);
    expect(on.stderr).toMatch(/server: connection \d+: undecodable frame/);
    expect(on.stderr).toMatch(/client: big refused, 1 requests in flight/);
    const off = run({ NODE_DEBUG: '' });
    expect(off.status).toBe(0);
    expect(off.stderr).not.toMatch(/OPENCLAW-IPC/);
  });
});
