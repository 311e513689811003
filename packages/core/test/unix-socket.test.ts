/**
 * The engine over real Unix sockets (packages/unix): socket-level behaviour that an in-memory
 * link cannot show — resets, the server's frame limit, capacity at accept, restarts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IpcError, msgpackDialect, RpcClient, RpcServer } from '@openclaw-ipc/core';
import { connectUnix, UnixListener, type UnixListenOptions } from '@openclaw-ipc/unix';
import { afterAll, describe, expect, it } from 'vitest';
import { onCleanup, rejection, until } from './util/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'oc-core-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const nextPath = () => join(dir, `c${n++}.sock`);

async function startServer(path: string, options: UnixListenOptions & { maxConnections?: number } = {}) {
  const errors: IpcError[] = [];
  const server = new RpcServer({
    dialect: msgpackDialect,
    maxConnections: options.maxConnections,
    onError: (e) => errors.push(e),
  });
  server.serve(await UnixListener.listen(path, options));
  onCleanup(() => server.close());
  return { server, errors };
}

function client(path: string, options: Record<string, unknown> = {}) {
  const c = new RpcClient({ dialect: msgpackDialect, link: (s) => connectUnix(path, {}, s), ...options });
  onCleanup(() => c.close());
  return c;
}

describe('RPC over Unix sockets', () => {
  it('rejects pending requests CLOSED at once when the server goes away, then reconnects to a new one', async () => {
    const path = nextPath();
    const first = await startServer(path);
    first.server.handle('hang', () => new Promise(() => {}));
    const c = client(path, { reconnect: { minDelay: 5, maxDelay: 20 }, timeout: 0 });
    const states: string[] = [];
    c.onState((s) => states.push(s));
    await c.start();
    const calls = [rejection(c.request('hang')), rejection(c.request('hang'))];
    await until(() => first.server.connections.size === 1);
    await first.server.close();
    for (const e of await Promise.all(calls)) expect(e).toMatchObject({ code: 'CLOSED' });
    const second = await startServer(path);
    second.server.handle('who', () => 'second');
    await until(() => c.state === 'open');
    expect(await c.request('who')).toBe('second');
    expect(states).toEqual(['open', 'reconnecting', 'open']);
  });

  it('cancels the server handler over the socket and aborts handlers when the client disconnects', async () => {
    const path = nextPath();
    const { server } = await startServer(path);
    const signals: AbortSignal[] = [];
    server.handle('hang', (_p, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    const c = client(path);
    await c.start();
    const ac = new AbortController();
    const cancelled = rejection(c.request('hang', {}, { signal: ac.signal }));
    const other = rejection(c.request('hang'));
    await until(() => signals.length === 2);
    ac.abort();
    expect(await cancelled).toMatchObject({ code: 'ABORTED' });
    await until(() => signals[0]!.aborted);
    expect(signals[0]!.reason).toMatchObject({ code: 'ABORTED' });
    expect(signals[1]!.aborted).toBe(false);
    c.close();
    expect(await other).toMatchObject({ code: 'CLOSED' });
    await until(() => signals[1]!.aborted);
    expect(signals[1]!.reason).toMatchObject({ code: 'CLOSED' });
  });

  it('a frame over the server limit closes only that link; replies over maxMessageSize are refused', async () => {
    const path = nextPath();
    const { server, errors } = await startServer(path, { maxMessageSize: 4096 });
    server.handle('echo', (p) => p);
    const big = client(path, { reconnect: false });
    const small = client(path);
    await Promise.all([big.start(), small.start()]);
    expect(await rejection(big.request('echo', 'x'.repeat(10_000)))).toMatchObject({ code: 'CLOSED' });
    await until(() => big.state === 'closed');
    expect(await small.request('echo', 'fine')).toBe('fine');
    expect(errors.length).toBe(0); // the transport refused the frame before the engine saw it
    // the client's own limit refuses before sending
    const limited = client(path, { maxMessageSize: 1000 });
    await limited.start();
    expect(await rejection(limited.request('echo', 'y'.repeat(2000)))).toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    expect(limited.state).toBe('open');
  });

  it('closes connections over maxConnections and keeps serving the first', async () => {
    const path = nextPath();
    const { server } = await startServer(path, { maxConnections: 1 });
    server.handle('echo', (p) => p);
    const first = client(path);
    await first.start();
    await until(() => server.connections.size === 1);
    const second = client(path, { reconnect: false });
    await second.start().catch(() => {});
    await until(() => second.state === 'closed');
    expect(await rejection(second.request('echo', 1))).toMatchObject({ code: 'CLOSED' });
    expect(await first.request('echo', 2)).toBe(2);
    expect(server.connections.size).toBe(1);
  });

  it('answers server replies over maxMessageSize with MESSAGE_TOO_LARGE over the socket', async () => {
    const path = nextPath();
    const server = new RpcServer({ dialect: msgpackDialect, maxMessageSize: 2048 });
    server.serve(await UnixListener.listen(path));
    onCleanup(() => server.close());
    server.handle('blob', (size: number) => new Uint8Array(size));
    const c = client(path);
    await c.start();
    expect(await rejection(c.request('blob', 10_000))).toMatchObject({ remoteCode: 'MESSAGE_TOO_LARGE' });
    const bytes = (await c.request('blob', 16)) as Uint8Array;
    expect(bytes).toBeInstanceOf(Uint8Array); // msgpack bin; a Buffer under Node
    expect(Array.from(bytes)).toEqual(new Array(16).fill(0));
  });
});
