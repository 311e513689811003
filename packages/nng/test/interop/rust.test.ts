// Interoperability with the Rust crate openclaw-ipc 0.1.0 from crates.io, through its own
// IpcTransport (test/interop/rust/src/main.rs), as a client of our server and as a server for
// our client. The program is built with cargo on first use (minutes on a cold cache).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RemoteError } from '@openclaw-ipc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNng, IpcTransport, listenNng } from '../../src/index.js';
import { address, cleanupAddresses, wrapChild } from '../helpers.js';

const crateDir = join(dirname(fileURLToPath(import.meta.url)), 'rust');
const binary = join(crateDir, 'target', 'release', 'openclaw-ipc-nng-interop');
const run = promisify(execFile);

beforeAll(async () => {
  // cargo is idempotent: a no-op when the binary is up to date.
  await run('cargo', ['build', '--release', '--quiet'], { cwd: crateDir, maxBuffer: 16 * 1024 * 1024 });
  expect(existsSync(binary)).toBe(true);
}, 900_000);

afterAll(cleanupAddresses);

describe('Rust crate openclaw-ipc', () => {
  it.each(['ipc', 'tcp'] as const)(
    'its IpcTransport client calls our RpcServer (%s)',
    async (kind) => {
      const url = address(kind);
      const server = await listenNng(url, {
        handlers: { echo: (p: unknown) => p, fail: () => Promise.reject(new Error('ts says no')) },
      });
      try {
        const params = { text: 'héllo', n: [1, 2.5, null], nested: { ok: true } };
        const { stdout } = await run(binary, ['client', url, 'echo', JSON.stringify(params), '3']);
        const lines = stdout.trim().split('\n');
        expect(lines).toHaveLength(3);
        for (const line of lines) {
          const msg = JSON.parse(line);
          expect(msg.payload).toEqual({ type: 'response', success: true, result: params, error: null });
        }
        const failed = JSON.parse((await run(binary, ['client', url, 'fail', '{}'])).stdout);
        expect(failed.payload).toEqual({
          type: 'response',
          success: false,
          result: null,
          error: 'ts says no',
        });
        const unknown = JSON.parse((await run(binary, ['client', url, 'nope', '{}'])).stdout);
        expect(unknown.payload.error).toBe('Unknown method: nope');
      } finally {
        await server.close();
      }
    },
    60_000,
  );

  it('its IpcTransport server answers our RpcClient and our IpcTransport', async () => {
    const url = address('ipc');
    const child = wrapChild(spawn(binary, ['server', url, '4'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    try {
      await child.waitFor(/^ready$/);
      const client = await connectNng(url);
      expect(await client.request('echo', { from: 'ts', list: [1, 2, 3] })).toEqual({
        from: 'ts',
        list: [1, 2, 3],
      });
      expect(await client.request('status')).toEqual({ method: 'status' });
      const err = await client.request('fail').catch((e) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.message).toBe('rust says no');
      client.close();

      const transport = await IpcTransport.client(url);
      const reply = await transport.request({
        id: 'abc',
        payload: { type: 'request', method: 'echo', params: [42] },
      });
      expect(reply).toEqual({
        id: 'abc',
        payload: { type: 'response', success: true, result: [42], error: null },
      });
      transport.close();
      expect(await child.exited).toBe(0);
    } finally {
      await child.kill();
    }
  }, 60_000);
});
