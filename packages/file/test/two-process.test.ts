import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { FileChannel } from '../src/index.js';
import { spawnTs, tempDir, until } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function child(args: string[]) {
  const proc = spawnTs('child.ts', args);
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(l));
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  const done = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  return { proc, lines, done, stderr: () => stderr };
}

describe.each(['ipckit', 'journal'] as const)('file channel across two processes, %s mode', (mode) => {
  it('a frontend here calls a backend in another process', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const server = child(['serve', dir, mode]);
    await until(() => server.lines.includes('ready'), 20_000, 'child backend');
    const client = await FileChannel.frontend(dir, { mode, client: { reconnect: false } });
    cleanups.push(() => client.close());
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => client.request('echo', { i })));
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i })));
    expect(await client.request('pid')).toBe(server.proc.pid);
    await client.notify('bye');
    expect(await server.done).toBe(0);
  });

  it('a frontend in another process calls a backend here', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const server = await FileChannel.backend(dir, {
      mode,
      handlers: { echo: (p: unknown) => p, pid: () => process.pid },
    });
    cleanups.push(() => server.close());
    const seen: unknown[] = [];
    server.on('from-child', (d) => seen.push(d));
    const caller = child(['call', dir, mode, '40']);
    expect(await caller.done).toBe(0);
    const result = JSON.parse(caller.lines[0]!);
    expect(result.results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i })));
    expect(result.pid).toBe(process.pid);
    await expect.poll(() => seen, { timeout: 5000 }).toEqual([{ n: 40 }]);
  });
});
