/**
 * connect([primary, secondary]) end to end, each server in its own process
 * (fixtures/observed-server.ts), across transports: unix → ws and nng → unix. The primary is
 * killed (SIGKILL): what was sent to it rejects CLOSED unless idempotent (no blind replay), the
 * client moves to the secondary; the primary comes back: the client returns to it between
 * requests, never in the middle of one.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, IpcError, type RpcClient } from '../src/index.js';
import { tempDir } from './helpers.js';
import { killAll, startObservedServer } from './helpers-process.js';

const clients: RpcClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
});

const until = async (check: () => boolean | Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
};

const cases = [
  {
    name: 'unix primary, ws secondary',
    primary: () => `unix://${join(tempDir('oc-fo-'), 'p.sock')}`,
    secondary: 'ws://127.0.0.1:0/',
  },
  {
    name: 'nng primary, unix secondary',
    primary: () => `nng+ipc://${join(tempDir('oc-fo-'), 'p.ipc')}`,
    secondary: `unix://${join(tempDir('oc-fo-'), 's.sock')}`,
  },
];

describe.each(cases)('failover, $name, servers in other processes', ({ primary, secondary }) => {
  it('moves to the secondary when the primary is killed, then back to the primary between requests', async () => {
    const primaryUrl = primary();
    let first = await startObservedServer(primaryUrl);
    const backup = await startObservedServer(secondary);
    const primaryHref = new URL(first.address).href;
    const backupHref = new URL(backup.address).href;
    const client = await connect([primaryUrl, backup.address], {
      probeInterval: 50,
      reconnect: { minDelay: 10, maxDelay: 50 },
      timeout: 60_000,
    });
    clients.push(client);
    const states: string[] = [];
    client.onState((state, _error, url) => states.push(`${state} ${url}`));
    expect(client.url).toBe(primaryHref);
    expect(await client.request('pid', {})).toBe(first.child.pid);

    // Sent to the primary when it dies: a plain request rejects CLOSED, an idempotent one is sent
    // again, to the secondary.
    const plain = client.request('sleep', { ms: 30_000 }).catch((e: unknown) => e);
    const idempotent = client.request('sleep', { ms: 1 }, { idempotent: true, timeout: 60_000 });
    await client.request('echo', 'barrier');
    await first.kill();
    const lost = await plain;
    expect(lost).toBeInstanceOf(IpcError);
    expect((lost as IpcError).code).toBe('CLOSED');
    await expect(idempotent).resolves.toBe(1);
    await until(() => client.state === 'open' && client.url === backupHref);
    expect(await client.request('pid', {})).toBe(backup.child.pid);

    // A long request in flight on the secondary when the primary is back: the client moves only
    // once it is answered.
    let slowDone = false;
    const slow = client.request('sleep', { ms: 4_000 }).then((v) => {
      slowDone = true;
      return v;
    });
    first = await startObservedServer(primaryUrl);
    let answeredBy = 0;
    await until(async () => {
      answeredBy = (await client.request('pid', {})) as number;
      if (answeredBy === first.child.pid) expect(slowDone).toBe(true);
      return answeredBy === first.child.pid;
    });
    await expect(slow).resolves.toBe(4_000);
    expect(client.url).toBe(primaryHref);
    expect(client.stats().reconnects).toBe(2);
    expect(states.filter((s) => s.startsWith('open'))).toEqual([`open ${backupHref}`, `open ${primaryHref}`]);
    expect(states).toContain(`reconnecting ${primaryHref}`);
  });
});

describe('failover, bad input', () => {
  it('connect([]) and an option no transport of the list knows are INVALID_ARGUMENT; nobody answering is CONNECT naming each URL', async () => {
    await expect(connect([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const dir = tempDir('oc-fo-');
    const a = `unix://${join(dir, 'none-a.sock')}`;
    const b = `unix://${join(dir, 'none-b.sock')}`;
    await expect(connect([a, b], { allowedOrigins: ['x'] } as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(connect([a], { probeInterval: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const err = (await connect([a, b]).catch((e: unknown) => e)) as IpcError;
    expect(err.code).toBe('CONNECT');
    expect((err.details as { failures: Array<{ url: string }> }).failures.map((f) => f.url)).toEqual([
      new URL(a).href,
      new URL(b).href,
    ]);
  });
});
