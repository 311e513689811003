import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startServe, stop, tempDir } from './helpers.js';

// Every transport plugs into serve/call/bench through its URL scheme.
const cases: Array<{ name: string; url: () => string; args?: string[] }> = [
  {
    name: 'unix, openclaw-ipc JSON dialect',
    url: () => `unix://${join(tempDir(), 'j.sock')}`,
    args: ['--dialect', 'openclaw-ipc'],
  },
  { name: 'nng ipc', url: () => `nng+ipc://${join(tempDir(), 'n.ipc')}` },
  { name: 'nng tcp', url: () => 'nng+tcp://127.0.0.1:0' },
  { name: 'ws, JSON-RPC', url: () => 'ws://127.0.0.1:0/' },
  { name: 'ws, forge dialect', url: () => 'ws://127.0.0.1:0/', args: ['--dialect', 'forge'] },
  { name: 'file channel, ipckit mode', url: () => `file://${join(tempDir(), 'chan')}` },
  { name: 'file channel, journal mode', url: () => `file://${join(tempDir(), 'journal')}?mode=journal` },
];

describe.each(cases)('openclaw-ipc serve|call|bench over $name', ({ url, args = [] }) => {
  it('serves echo and fail, and benchmarks', async () => {
    const server = await startServe(url(), args);
    try {
      // A file channel's server is its backend end; the client takes the frontend end.
      const address = server.address.replace('role=backend', 'role=frontend');
      const echo = await runCli(['call', address, 'echo', '{"n":[1,"two",null]}', ...args]);
      expect(echo.stderr).toBe('');
      expect(JSON.parse(echo.stdout)).toEqual({ n: [1, 'two', null] });

      const fail = await runCli([
        'call',
        address,
        'fail',
        '{"code":"E_DEMO","message":"demo failure"}',
        ...args,
      ]);
      expect(fail.code).toBe(1);
      expect(fail.stderr).toContain('demo failure');

      const bench = await runCli(['bench', address, '--duration', '0.5', '--concurrency', '8', ...args]);
      expect(bench.code).toBe(0);
      expect(bench.stdout).toContain('round trips/s');
    } finally {
      await stop(server);
    }
  });
});
