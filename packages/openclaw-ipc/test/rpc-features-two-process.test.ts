/**
 * Deadlines, progress and streamed results end to end: the server in another process
 * (fixtures/rpc-features-server.ts), the client here, over unix, ws (JSON-RPC), the file
 * channel's journal mode and rdma over shared memory. What happens in the server (a generator's
 * finally, why a handler's signal aborted) is read back with requests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IpcError, RemoteError, RpcClient } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { nodeArgs, tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];
const clients: RpcClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
});

async function startServer(url: string, maxHandlerTime = 0) {
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(here, 'fixtures', 'rpc-features-server.ts'), url, String(maxHandlerTime)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  const client = await connect(address, { timeout: 30_000 });
  clients.push(client);
  return { child, client };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    await sleep(10);
  }
}
async function failure(run: () => Promise<unknown>): Promise<IpcError> {
  try {
    await run();
  } catch (err) {
    return err as IpcError;
  }
  throw new Error('expected a failure');
}
type Stats = { finallies: number; produced: number };

const transports = [
  { name: 'unix', url: () => `unix://${join(tempDir(), 's.sock')}`, binary: true, loss: true },
  { name: 'ws (JSON-RPC)', url: () => 'ws://127.0.0.1:0/', binary: false, loss: true },
  {
    name: 'file (journal)',
    url: () => `file://${join(tempDir(), 'j')}?mode=journal`,
    binary: true,
    loss: false,
  },
  { name: 'rdma+shm', url: () => `rdma+shm://${join(tempDir(), 'r.sock')}`, binary: true, loss: true },
];

describe.each(transports)('deadlines, progress and streams across two processes over $name', (t) => {
  it('streams items in order under a small credit; an abandoned stream stops the generator (its finally runs)', async () => {
    const { client } = await startServer(t.url());
    const items: number[] = [];
    for await (const n of client.stream('count', { to: 100 }, { credit: 4 })) items.push(n as number);
    expect(items).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    let taken = 0;
    for await (const _ of client.stream('forever', {}, { credit: 4 })) if (++taken === 11) break;
    const after = await until(
      () => client.request('stats') as Promise<Stats>,
      (s) => s.finallies === 1,
    );
    // Credit: never more than the items taken plus the window were asked of the generator.
    expect(after.produced).toBeLessThanOrEqual(11 + 4);

    const ac = new AbortController();
    const aborted = await failure(async () => {
      let n = 0;
      for await (const _ of client.stream('forever', {}, { signal: ac.signal })) if (++n === 5) ac.abort();
    });
    expect(aborted.code).toBe('ABORTED');
    await until(
      () => client.request('stats') as Promise<Stats>,
      (s) => s.finallies === 2,
    );
  });

  it("the server's error ends the loop after the items before it", async () => {
    const { client } = await startServer(t.url());
    const items: unknown[] = [];
    const err = (await failure(async () => {
      for await (const x of client.stream('failing')) items.push(x);
    })) as RemoteError;
    expect(items).toEqual([1, 2]);
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('E_BROKE');
  });

  it('progress arrives in order before the result; a deadline reached aborts the handler with TIMEOUT', async () => {
    const { client } = await startServer(t.url());
    const seen: unknown[] = [];
    expect(await client.request('work', { steps: 6 }, { onProgress: (v) => seen.push(v) })).toBe('worked');
    expect(seen).toEqual([1, 2, 3, 4, 5, 6].map((step) => ({ step })));

    const err = await failure(() => client.request('wait', {}, { timeout: 150 }));
    expect(err.code).toBe('TIMEOUT');
    const abort = await until(
      () => client.request('lastAbort') as Promise<{ code: string; deadline: boolean } | null>,
      (a) => a !== null,
    );
    expect(abort).toEqual({ code: 'TIMEOUT', deadline: true });
  });
});

describe.each(transports.filter((t) => t.binary))('binary items across two processes over $name', (t) => {
  it('streams binary items (over rdma, those above the rendezvous threshold by one-sided read)', async () => {
    const { client } = await startServer(t.url());
    const sizes: number[] = [];
    let i = 0;
    for await (const blob of client.stream('blobs', { n: 4, size: 200_000 }, { credit: 2 })) {
      const b = blob as Uint8Array;
      sizes.push(b.byteLength);
      expect(b.every((x) => x === i + 1)).toBe(true);
      i++;
    }
    expect(sizes).toEqual([200_000, 200_000, 200_000, 200_000]);
  });
});

// A file channel has no connection to lose: a stream over it ends by its timeout.
describe.each(transports.filter((t) => t.loss))('a lost link across two processes over $name', (t) => {
  it('a link lost mid-stream ends the loop with CLOSED, never silently', async () => {
    const { client, child } = await startServer(t.url());
    let n = 0;
    const err = await failure(async () => {
      for await (const _ of client.stream('forever', {}, { credit: 2 })) {
        if (++n === 3) child.kill('SIGKILL');
        await sleep(5);
      }
    });
    expect(err.code).toBe('CLOSED');
  });
});

describe('maxHandlerTime across two processes (unix)', () => {
  it('aborts a handler whose caller waits longer, and the caller gets TIMEOUT from the server', async () => {
    const { client } = await startServer(`unix://${join(tempDir(), 'm.sock')}`, 100);
    const err = (await failure(() => client.request('wait', {}, { timeout: 0 }))) as RemoteError;
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('TIMEOUT');
    expect(await client.request('lastAbort')).toEqual({ code: 'TIMEOUT', deadline: true });
  });
});
