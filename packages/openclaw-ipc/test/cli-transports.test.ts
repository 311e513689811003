import { join } from 'node:path';
import { crc32c as crc32cOf } from '@openclaw-ipc/rdma';
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
  { name: 'rdma over cma', url: () => `rdma+cma://${join(tempDir(), 'rc.sock')}` },
  { name: 'rdma over shm', url: () => `rdma+shm://${join(tempDir(), 'rs.sock')}` },
];

describe.each(cases)('openclaw-ipc serve|call|bench over $name', ({ url, args = [] }) => {
  it('serves echo and fail, and benchmarks', async () => {
    const server = await startServe(url(), args);
    try {
      // The address the server prints is the one clients connect to, for every transport (a
      // file channel's backend prints the frontend end's URL).
      const address = server.address;
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
      // Plain unix has no memory to read from: StartRead is unsupported there (rdma+cma serves it, below).
      const other = await runCli(['call', url, 'StartRead', read, '--dialect', 'sidecar']);
      expect(other.code).toBe(1);
      expect(other.stderr).toContain('UNSUPPORTED_MESSAGE');
    } finally {
      await stop(server);
    }
  });
});

describe.each(['cma', 'shm'])('openclaw-ipc bench rdma+%s --method blob', (provider) => {
  it('moves 1 MiB blobs by rendezvous and reports the throughput', async () => {
    const url = `rdma+${provider}://${join(tempDir(), `b${provider}.sock`)}`;
    const server = await startServe(url);
    try {
      const bench = await runCli([
        'bench',
        url,
        '--method',
        'blob',
        '--size',
        '1048576',
        '--duration',
        '0.5',
      ]);
      expect(bench.code, bench.stderr).toBe(0);
      expect(bench.stdout).toMatch(/throughput/);
      expect(bench.stdout).toMatch(/\d B\/s|[kMG]B\/s/);
    } finally {
      await stop(server);
    }
  });
});

describe('openclaw-ipc serve rdma+cma://… --dialect sidecar', () => {
  it('serves StartRead for real: a registered window with its CRC32C, released by CompleteRead', async () => {
    const url = `rdma+cma://${join(tempDir(), 'engine.sock')}`;
    const server = await startServe(url, ['--dialect', 'sidecar']);
    try {
      const read = JSON.stringify({
        volume_id: 1,
        needle_id: 9,
        cookie: 0,
        offset: 0,
        size: 0,
        remote_addr: 0,
        remote_key: 0,
        timeout_secs: 5,
      });
      const started = await runCli(['call', url, 'StartRead', read, '--dialect', 'sidecar']);
      expect(started.stderr).toBe('');
      const session = JSON.parse(started.stdout);
      // Needle 9 of the demo store holds the bytes 0..8.
      expect(session).toMatchObject({
        transfer_size: 9,
        expected_crc: crc32cOf(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8])),
      });
      const caps = await runCli(['call', url, 'GetCapabilities', '{}', '--dialect', 'sidecar']);
      expect(JSON.parse(caps.stdout)).toMatchObject({ device_name: 'openclaw-ipc-cma', real_rdma: false });
    } finally {
      await stop(server);
    }
  });
});
