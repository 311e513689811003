import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RemoteError } from '@openclaw-ipc/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileChannel } from '../../src/index.js';
import { here, tempDir, until } from '../helpers.js';
import { ensureIpckit, ipckitEnv, PYTHON } from './ensure-ipckit.js';

const peer = join(here, 'interop', 'ipckit_peer.py');
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

beforeAll(() => ensureIpckit(), 300_000);

function python(args: string[]): { child: ChildProcess; lines: any[]; done: Promise<number | null> } {
  const child = spawn(PYTHON, [peer, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: ipckitEnv() });
  const lines: any[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, lines, done };
}

describe('interop with the ipckit Python package (FileChannel, PyPI)', () => {
  it('our frontend calls an ipckit backend: responses, errors, events', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const py = python(['serve', dir, 'backend']);
    await until(() => py.lines.length > 0, 15_000, 'python ready');
    const client = await FileChannel.frontend(dir, { client: { reconnect: false } });
    cleanups.push(() => client.close());
    const ticks: unknown[] = [];
    client.on('tick', (d) => ticks.push(d));
    // More than one message in the same millisecond, in both directions.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => client.request('echo', { i })));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => ({ i })));
    const err = await client.request('fail').catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toBe('nope from python');
    await expect(client.request('emit', { n: 7 })).resolves.toBe(true);
    await expect.poll(() => ticks, { timeout: 5000 }).toEqual([{ n: 7 }]);
    await client.notify('note', { hi: 1 });
    await until(() => py.lines.some((l) => l.event === 'note'), 5000, 'python saw the event');
    expect(py.lines.find((l) => l.event === 'note').payload).toEqual({ hi: 1 });
    await expect(client.request('stop')).resolves.toBe('bye');
    expect(await py.done).toBe(0);
    // ipckit's reader repeats messages that share a millisecond; ours are stamped so it does not.
    const handled = py.lines.filter((l) => 'handled' in l).map((l) => l.handled);
    expect(handled).toHaveLength(33);
    expect(new Set(handled).size).toBe(33);
  });

  it('an ipckit frontend calls our backend: responses, errors, events', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const events: unknown[] = [];
    const server = await FileChannel.backend(dir, {
      handlers: { add: (p: { a: number; b: number }) => p.a + p.b },
    });
    server.on('hello', (d) => events.push(d));
    cleanups.push(() => server.close());
    const py = python(['call', dir, 'frontend', '25']);
    expect(await py.done).toBe(0);
    const answers = py.lines.filter((l) => 'i' in l);
    expect(answers.map((l) => l.payload)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(answers.every((l) => l.error === null || l.error === undefined)).toBe(true);
    expect(py.lines.find((l) => 'missing' in l).missing).toBe('Unknown method: missing');
    expect(events).toEqual([{ from: 'python' }]);
  });
});
