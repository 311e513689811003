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
      expect(bench.code, bench.stderr).toBe(0);
      expect(bench.stdout).toContain('round trips/s');
    } finally {
      await stop(server);
    }
  });
});

describe('openclaw-ipc serve --dialect sidecar', () => {
  it('answers Ping and GetCapabilities in the SeaweedFS sidecar protocol', async () => {
    const url = `unix://${join(tempDir(), 'sidecar.sock')}`;
    const server = await startServe(url, ['--dialect', 'sidecar']);
    try {
      const caps = await runCli(['call', url, 'GetCapabilities', '{}', '--dialect', 'sidecar']);
      expect(caps.stderr).toBe('');
      expect(JSON.parse(caps.stdout)).toMatchObject({ real_rdma: false });
      const pong = await runCli([
        'call',
        url,
        'Ping',
        '{"timestamp_ns":"1700000000000000000"}',
        '--dialect',
        'sidecar',
      ]);
      expect(pong.stderr).toBe('');
      expect(String(JSON.parse(pong.stdout).client_timestamp_ns)).toBe('1700000000000000000');
      const read = JSON.stringify({
        volume_id: 1,
        needle_id: 2,
        cookie: 3,
        offset: 0,
        size: 0,
        remote_addr: 4096,
        remote_key: 7,
        timeout_secs: 5,
      });
      // StartRead arrives with the RDMA transport; until then the demo answers it as unsupported.
      const other = await runCli(['call', url, 'StartRead', read, '--dialect', 'sidecar']);
      expect(other.code).toBe(1);
      expect(other.stderr).toContain('UNSUPPORTED_MESSAGE');
    } finally {
      await stop(server);
    }
  });
});
