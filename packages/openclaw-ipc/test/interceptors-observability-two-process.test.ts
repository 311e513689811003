/**
 * Interceptors, stats() and the diagnostics channels end to end: the server in another process
 * (fixtures/observed-server.ts), over unix, ws and nng. The client adds auth metadata and logs
 * through its interceptors; the server's interceptor sees each call (params, duration, outcome)
 * and replaces an internal error; both ends count the same bytes; both ends trace each request.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANNELS, type ClientRequestTrace, connect, RemoteError, type RpcClient } from '../src/index.js';
import { tempDir } from './helpers.js';
import { killAll, startObservedServer } from './helpers-process.js';

const clients: RpcClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
});

const cases = [
  { name: 'unix', url: () => `unix://${join(tempDir('oc-obs-'), 's.sock')}`, transport: 'unix', codes: true },
  { name: 'ws', url: () => 'ws://127.0.0.1:0/', transport: 'ws', codes: true },
  // nng's default dialect is the Rust crate's JSON, which carries no error codes.
  {
    name: 'nng',
    url: () => `nng+ipc://${join(tempDir('oc-obs-'), 's.ipc')}`,
    transport: 'nng',
    codes: false,
  },
];

interface Report {
  calls: Array<{ method: string; params: any; ms: number; outcome: string }>;
  traces: Array<{ method: string; transport: string; requestSize: number; error?: string }>;
  stats: any;
}

describe.each(cases)('over $name, server in another process', ({ url, transport, codes }) => {
  it('client interceptors add metadata and log; the server interceptor sees params, duration and outcome and replaces an internal error', async () => {
    const server = await startObservedServer(url());
    const log: string[] = [];
    const client = await connect(server.address, {
      interceptors: [
        async (call, next) => {
          try {
            const r = await next();
            log.push(`${call.kind} ${call.method} ok`);
            return r;
          } catch (err) {
            log.push(`${call.kind} ${call.method} ${(err as RemoteError).remoteCode}`);
            throw err;
          }
        },
        (call, next) => next({ ...call, params: { ...(call.params as object), token: 't-1' } }),
      ],
    });
    clients.push(client);
    expect(client.url).toBe(new URL(server.address).href);
    expect(await client.request('whoami', {})).toBe('t-1');
    expect(await client.request('echo', { text: 'x'.repeat(100) })).toEqual({
      text: 'x'.repeat(100),
      token: 't-1',
    });
    const crash = await client.request('crash', {}).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(RemoteError);
    expect((crash as RemoteError).remoteCode).toBe(codes ? 'UNAVAILABLE' : undefined);
    expect((crash as RemoteError).message).toBe('internal error'); // the handler's message stayed there
    const missing = await client.request('nope', {}).catch((e: unknown) => e);
    expect((missing as RemoteError).remoteCode).toBe(codes ? 'METHOD_NOT_FOUND' : undefined);
    expect((missing as RemoteError).message).toBe('Unknown method: nope');

    const report = (await client.request('report', {})) as Report;
    expect(report.calls.map((c) => [c.method, c.outcome])).toEqual([
      ['whoami', 'ok'],
      ['echo', 'ok'],
      ['crash', 'INTERNAL'],
      ['nope', 'METHOD_NOT_FOUND'],
    ]);
    for (const c of report.calls) {
      expect(c.params.token).toBe('t-1');
      expect(c.ms).toBeGreaterThanOrEqual(0);
    }
    expect(log).toEqual([
      'request whoami ok',
      'request echo ok',
      `request crash ${codes ? 'UNAVAILABLE' : undefined}`,
      `request nope ${codes ? 'METHOD_NOT_FOUND' : undefined}`,
      'request report ok',
    ]);
  });

  it('stats() on both ends agree on requests, errors and bytes; both ends trace every request with method, transport and sizes', async () => {
    const server = await startObservedServer(url());
    const traces: ClientRequestTrace[] = [];
    const channel = diagnostics_channel.tracingChannel(CHANNELS.clientRequest);
    const handlers = {
      start() {},
      end() {},
      asyncStart() {},
      asyncEnd: (m: any) => traces.push(m),
      error() {},
    };
    channel.subscribe(handlers);
    try {
      const client = await connect(server.address);
      clients.push(client);
      for (let i = 0; i < 20; i++) await client.request('echo', { i });
      await Promise.all(Array.from({ length: 30 }, (_, i) => client.request('echo', { i })));
      await client.request('crash', {}).catch(() => {});
      const report = (await client.request('report', {})) as Report;
      const mine = client.stats();
      expect(mine.total).toBe(52);
      expect(mine.errors).toEqual({ REMOTE: 1 });
      expect(mine.latency.count).toBe(52);
      expect(mine.latency.p50).toBeGreaterThan(0);
      expect(mine.latency.p99).toBeGreaterThanOrEqual(mine.latency.p50);
      // The server counted `report` too, while it ran.
      expect(report.stats.total).toBe(52);
      expect(report.stats.inFlight).toBe(1);
      expect(report.stats.errors).toEqual({ UNAVAILABLE: 1 });
      expect(report.stats.bytesIn).toBe(mine.bytesOut);
      expect(mine.bytesIn).toBeGreaterThan(0);

      const own = traces.filter((t) => t.client === client);
      expect(own).toHaveLength(52);
      expect(new Set(own.map((t) => t.transport))).toEqual(new Set([transport]));
      for (const t of own) {
        expect(t.requestSize).toBeGreaterThan(0);
        expect(t.responseSize).toBeGreaterThan(0);
        expect(t.url).toBe(client.url);
      }
      expect(report.traces).toHaveLength(51);
      expect(report.traces.filter((t) => t.error)).toEqual([
        { method: 'crash', transport, requestSize: expect.any(Number), error: 'UNAVAILABLE' },
      ]);
      // Each request's size is the same on both ends.
      const sent = own.filter((t) => t.method !== 'report').map((t) => t.requestSize);
      expect(report.traces.map((t) => t.requestSize).sort()).toEqual(sent.sort());
    } finally {
      channel.unsubscribe(handlers);
    }
  });
});
