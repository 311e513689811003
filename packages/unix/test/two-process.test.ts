/**
 * The unix transport across two processes: a server in a child process, the client here.
 * Killing the server mid-request rejects the pending requests with CLOSED at once; the client
 * reconnects by itself when a server is back on the same path (its stale socket removed).
 */
import { existsSync } from 'node:fs';
import { IpcError, type RpcClient } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { unixTransport } from '../src/index.js';
import { type ServerProcess, startServerProcess, tempDir, until } from './helpers.js';

const dir = tempDir('oc-unix-2p-');
const running: ServerProcess[] = [];
const clients: RpcClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of running) await s.kill();
  dir.remove();
});

async function server(path: string, dialect?: string) {
  const s = await startServerProcess(path, dialect);
  running.push(s);
  return s;
}

describe('unix transport, two processes', () => {
  it('answers requests from another process, many in flight', async () => {
    const path = dir.path('a.sock');
    const srv = await server(path);
    const client = await unixTransport.connect(new URL(`unix://${path}`));
    clients.push(client);
    expect(await client.request('pid')).toBe(srv.child.pid);
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => client.request('echo', { i })));
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
    const blob = (await client.request('blob', { size: 300_000 })) as Uint8Array;
    expect(blob.byteLength).toBe(300_000);
    expect(blob.every((b) => b === 7)).toBe(true);
  });

  it('rejects pending requests CLOSED when the server dies, then reconnects to its successor', async () => {
    const path = dir.path('b.sock');
    const first = await server(path);
    const client = await unixTransport.connect(new URL(`unix://${path}`), {
      reconnect: { minDelay: 10, maxDelay: 100 },
      timeout: 120_000,
    });
    clients.push(client);
    const states: string[] = [];
    client.onState((s) => states.push(s));

    const pending = Array.from({ length: 10 }, () =>
      client.request('sleep', { ms: 60_000 }).then(
        () => 'resolved',
        (e: IpcError) => e,
      ),
    );
    const retried = client.request('sleep', { ms: 0 }, { idempotent: true });
    // Requests on one link are taken in order: once this echo is answered, all were received.
    await client.request('echo', 'barrier');
    expect(await client.request('pid')).toBe(first.child.pid);

    await first.kill();
    const outcomes = await Promise.all(pending);
    for (const o of outcomes) {
      expect(o).toBeInstanceOf(IpcError);
      expect((o as IpcError).code).toBe('CLOSED');
    }
    expect(states).toContain('reconnecting');
    expect(existsSync(path)).toBe(true); // SIGKILL left the socket file behind: it is stale

    const second = await server(path);
    await until(() => client.state === 'open');
    expect(await client.request('pid')).toBe(second.child.pid);
    // The idempotent request pending at the crash was sent again on the new connection.
    await expect(retried).resolves.toBe(0);
  });

  it('runs the sidecar demo server in another process', async () => {
    const path = dir.path('c.sock');
    await server(path, 'sidecar');
    const client = await unixTransport.connect(new URL(`unix://${path}`), { dialect: 'sidecar' });
    clients.push(client);
    const pong = await client.request('Ping', { timestamp_ns: 1_700_000_000_123_456_789n });
    expect(pong.client_timestamp_ns).toBe(1_700_000_000_123_456_789n);
    expect(await client.request('GetCapabilities', {})).toMatchObject({ real_rdma: false });
    await expect(client.request('StartRead', {})).rejects.toMatchObject({ code: 'SERIALIZATION' });
  });
});
