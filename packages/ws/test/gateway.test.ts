// Against the real OpenClaw gateway (npm `openclaw` 2026.9.6 on Node 24), started by this file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcError, type RemoteError } from '@openclaw-ipc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeviceIdentity,
  GatewayClient,
  type GatewayClientOptions,
  type GatewayEventFrame,
  runGatewayCommand,
} from '../src/index.js';
import { type RunningGateway, startGateway, waitForPort } from './util/gateway.js';
import { onCleanup, until } from './util/raw.js';

const TOKEN = 'test-token-0123456789';
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway(TOKEN);
}, 300_000);
afterAll(async () => {
  await gw?.stop();
}, 30_000);

async function connect(options: Partial<GatewayClientOptions> = {}): Promise<GatewayClient> {
  const client = await GatewayClient.connect({
    url: gw.url,
    token: TOKEN,
    connectTimeout: 60_000,
    ...options,
  });
  onCleanup(() => client.close());
  return client;
}

const rejection = (p: Promise<unknown>): Promise<any> =>
  p.then(
    () => expect.fail('expected a rejection'),
    (e) => e,
  );

describe('OpenClaw gateway client against the real gateway', () => {
  it('waits for a gateway that is still starting (UNAVAILABLE, retryable, retryAfterMs), then connects', async () => {
    await waitForPort(gw.port, 120_000);
    // While its sidecars start, the gateway answers the handshake UNAVAILABLE and closes 1013.
    const early = await rejection(
      GatewayClient.connect({ url: gw.url, token: TOKEN, waitForStartup: false, reconnect: false }),
    );
    expect(early).toBeInstanceOf(IpcError);
    expect(early.code).toBe('UNAVAILABLE');
    expect(early.details).toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
      retryAfterMs: 500,
      details: { reason: 'startup-sidecars' },
    });
    const client = await connect();
    expect(client.startupRetries).toBeGreaterThan(0);
    expect(client.state).toBe('open');
  }, 180_000);

  it('completes the handshake: protocol 4 negotiated from 3..4, connId, features.methods, policy', async () => {
    const client = await connect();
    expect(client.protocol).toBe(4);
    expect(client.connId).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.methods).toEqual(
      expect.arrayContaining(['health', 'agents.list', 'sessions.list', 'status']),
    );
    expect(client.eventNames).toEqual(expect.arrayContaining(['tick', 'shutdown']));
    expect(client.hello?.policy.tickIntervalMs).toBeGreaterThan(0);
    expect(client.hello?.auth?.scopes).toEqual(['operator.read']);
  });

  it('calls health, agents.list and sessions.list, concurrently, and merges them with sync()', async () => {
    const client = await connect();
    const [health, agents, sessions] = await Promise.all([
      client.request<{ ok: boolean }>('health'),
      client.request<{ defaultId: string; agents: Array<{ id: string }> }>('agents.list', {}),
      client.request<{ sessions: unknown[]; count: number }>('sessions.list', {}),
    ]);
    expect(health.ok).toBe(true);
    expect(agents.defaultId).toBe('main');
    expect(agents.agents.map((a) => a.id)).toContain('main');
    expect(Array.isArray(sessions.sessions)).toBe(true);
    const snapshot = await client.sync();
    expect(snapshot.defaultId).toBe('main');
    expect(snapshot.agents.map((a) => a.id)).toContain('main');
    expect(snapshot.totalSessions).toBe(sessions.count);
  });

  it('surfaces a missing scope as FORBIDDEN with the gateway’s details', async () => {
    const client = await connect();
    const err: RemoteError = await rejection(client.request('config.set', {}));
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('FORBIDDEN');
    expect(err.details).toMatchObject({ code: 'MISSING_SCOPE', missingScope: 'operator.admin' });
    expect(err.method).toBe('config.set');
  });

  it('refuses a wrong token at once with AUTH, and does not retry', async () => {
    const client = new GatewayClient({
      url: gw.url,
      token: 'wrong',
      reconnect: { minDelay: 5, maxDelay: 10 },
    });
    onCleanup(() => client.close());
    const states: string[] = [];
    client.onState((s) => states.push(s));
    const err = await rejection(client.start());
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ code: 'INVALID_REQUEST', details: { code: 'AUTH_TOKEN_MISMATCH' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(client.state).toBe('closed');
    expect(client.error?.code).toBe('AUTH');
    expect(states).toEqual(['closed']);
    expect(client.startupRetries).toBe(0);
  });

  it('names the expected version when the gateway refuses the protocol window', async () => {
    const err = await rejection(
      GatewayClient.connect({ url: gw.url, token: TOKEN, minProtocol: 5, maxProtocol: 6 }),
    );
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toContain('protocol 4');
    expect(err.details).toMatchObject({ details: { code: 'PROTOCOL_MISMATCH', expectedProtocol: 4 } });
  });

  it('signs a device identity (v3 and v2) with a persisted Ed25519 key, and the gateway pairs it', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'oc-device-'));
    onCleanup(() => rmSync(keyDir, { recursive: true, force: true }));
    const keyFile = join(keyDir, 'device.pem');
    for (const signatureVersion of ['v3', 'v2'] as const) {
      const client = await connect({
        device: { keyFile },
        signatureVersion,
        client: { id: 'cli', mode: 'cli' },
      });
      expect(client.hello?.auth?.deviceToken).toEqual(expect.any(String));
      expect((await client.request<{ ok: boolean }>('health')).ok).toBe(true);
      client.close();
    }
    const again = DeviceIdentity.loadOrCreate(keyFile);
    expect(again.id).toBe(DeviceIdentity.loadOrCreate(keyFile).id);
    // A proof signed over the wrong payload is refused.
    const forged = DeviceIdentity.generate();
    const client = new GatewayClient({
      url: gw.url,
      token: TOKEN,
      device: forged,
      client: { id: 'cli', mode: 'cli' },
      reconnect: false,
    });
    onCleanup(() => client.close());
    (forged as unknown as { sign: (p: string) => string }).sign = () =>
      DeviceIdentity.generate().sign('other');
    const err = await rejection(client.start());
    expect(['AUTH', 'CONNECT']).toContain(err.code);
  });

  it('receives tick events, as handlers and iterators, with seq numbers and no gap', async () => {
    const client = await connect();
    const frames: GatewayEventFrame[] = [];
    const gaps: unknown[] = [];
    client.onEventFrame((f) => frames.push(f));
    client.onGap((g) => gaps.push(g));
    let handled = 0;
    client.on('tick', () => handled++);
    const ticks = client.events<{ ts: number }>('tick');
    const first = await ticks.next();
    expect(first.done).toBe(false);
    expect(first.value.ts).toEqual(expect.any(Number));
    expect(handled).toBe(1);
    const tickFrame = frames.find((f) => f.event === 'tick')!;
    expect(tickFrame.seq).toEqual(expect.any(Number));
    expect(gaps).toEqual([]);
    await ticks.return?.();
  }, 70_000);

  it('honours shutdown on a restart and reconnects; the CLI prints the events', async () => {
    const client = await connect({ reconnect: { minDelay: 100, maxDelay: 1000 } });
    const firstConn = client.connId;
    const shutdowns: unknown[] = [];
    client.on('shutdown', (p) => shutdowns.push(p));
    const states: string[] = [];
    client.onState((s) => states.push(s));
    const out: string[] = [];
    const stop = new AbortController();
    const cli = runGatewayCommand([gw.url, 'events', 'shutdown'], {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: () => {} },
      env: { OPENCLAW_GATEWAY_TOKEN: TOKEN },
      signal: stop.signal,
    });
    await until(() => client.state === 'open', 1000);
    await new Promise((r) => setTimeout(r, 500));
    gw.signal('SIGUSR2');
    await until(() => shutdowns.length > 0, 20_000);
    expect(shutdowns[0]).toMatchObject({
      reason: 'gateway restarting',
      restartExpectedMs: expect.any(Number),
    });
    await until(() => client.state === 'open' && client.connId !== firstConn, 60_000);
    expect(states).toContain('reconnecting');
    expect((await client.request<{ ok: boolean }>('health')).ok).toBe(true);
    await until(() => out.length > 0, 10_000);
    stop.abort();
    expect(await cli).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({
      event: 'shutdown',
      payload: { reason: 'gateway restarting' },
    });
  }, 90_000);

  it('declares a silent gateway dead (tick watchdog) and reconnects when it speaks again', async () => {
    const client = await connect({ tickTimeoutMs: 1000, reconnect: { minDelay: 100, maxDelay: 500 } });
    const errors: Array<IpcError | undefined> = [];
    client.onState((s, e) => {
      if (s === 'reconnecting') errors.push(e);
    });
    gw.signal('SIGSTOP');
    try {
      await until(() => client.state === 'reconnecting', 10_000);
    } finally {
      gw.signal('SIGCONT');
    }
    expect(errors[0]?.message).toMatch(/no frame from the gateway/);
    await until(() => client.state === 'open', 60_000);
    expect((await client.request<{ ok: boolean }>('health')).ok).toBe(true);
  }, 90_000);

  it('runs `gateway <url> call <method> [json]` and prints the payload as JSON', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    };
    expect(await runGatewayCommand([gw.url, '--token', TOKEN, 'call', 'agents.list', '{}'], io)).toBe(0);
    expect(JSON.parse(out.join('')).defaultId).toBe('main');
    out.length = 0;
    expect(
      await runGatewayCommand([gw.url, 'call', 'health'], { ...io, env: { OPENCLAW_GATEWAY_TOKEN: TOKEN } }),
    ).toBe(0);
    expect(JSON.parse(out.join('')).ok).toBe(true);
    expect(await runGatewayCommand([gw.url, '--token', TOKEN, 'call', 'config.set', '{}'], io)).toBe(1);
    expect(err.join('')).toContain('FORBIDDEN');
    expect(await runGatewayCommand([gw.url, '--token', 'bad', 'call', 'health'], io)).toBe(1);
    expect(err.join('')).toContain('AUTH');
    expect(await runGatewayCommand(['nope'], io)).toBe(2);
  }, 60_000);
});
