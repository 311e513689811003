// Interoperability with nngcat (Debian nng-utils), a peer nobody on this project wrote.
import { spawn } from 'node:child_process';
import { openclawJson } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNng, listenNng } from '../src/index.js';
import { address, cleanupAddresses } from './helpers.js';

afterAll(cleanupAddresses);

/** Runs nngcat to completion; resolves with its output (unbuffered, so none is lost on exit). */
function nngcat(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('stdbuf', ['-o0', 'nngcat', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('nngcat interop', () => {
  it.each(['ipc', 'tcp'] as const)(
    'nngcat --req sends an openclaw-ipc JSON request to our REP server (%s)',
    async (kind) => {
      const url = address(kind);
      const server = await listenNng(url, {
        handlers: { ping: (p: { n: number }) => ({ pong: p.n + 1 }) },
      });
      try {
        const request =
          '{"id":"0b9a3c1e-4f5d-4e7a-9c2b-1d2e3f405162","payload":{"type":"request","method":"ping","params":{"n":41}}}';
        const { code, stdout, stderr } = await nngcat([
          '--req',
          '--dial',
          url,
          '--data',
          request,
          '--raw',
          '--count',
          '1',
          '--interval',
          '2',
        ]);
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        // Byte for byte what the Rust crate writes for IpcMessage::success(id, {"pong":42}).
        expect(stdout).toBe(
          '{"id":"0b9a3c1e-4f5d-4e7a-9c2b-1d2e3f405162","payload":{"type":"response","success":true,"result":{"pong":42},"error":null}}',
        );

        // Without --interval, nngcat 1.5.2 computes a negative receive timeout when the reply
        // takes a while and exits "Cannot set recv timeout: Invalid argument".
        const bad = await nngcat([
          '--req',
          '--dial',
          url,
          '--data',
          'not json',
          '--raw',
          '--count',
          '1',
          '--interval',
          '2',
        ]);
        const reply = JSON.parse(bad.stdout);
        expect(reply.payload.type).toBe('response');
        expect(reply.payload.success).toBe(false);
        expect(typeof reply.payload.error).toBe('string');
      } finally {
        await server.close();
      }
    },
    30_000,
  );

  it('our client calls nngcat --rep and sends exactly the openclaw-ipc JSON bytes', async () => {
    const url = address('ipc');
    const response =
      '{"id":"fixed","payload":{"type":"response","success":true,"result":"pong from nngcat","error":null}}';
    // Unbuffered stdout: nngcat prints the raw request as it arrives.
    const child = spawn('stdbuf', ['-o0', 'nngcat', '--rep', '--listen', url, '--data', response, '--raw'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = '';
    child.stdout.on('data', (d) => (printed += d));
    try {
      // nngcat prints nothing when it is ready: retry the connection while it starts.
      let client: Awaited<ReturnType<typeof connectNng>> | undefined;
      for (let i = 0; i < 100 && !client; i++) {
        client = await connectNng(url).catch(() => undefined);
        if (!client) await new Promise((r) => setTimeout(r, 50));
      }
      expect(client).toBeDefined();
      expect(await client!.request('ping', { n: 1 })).toBe('pong from nngcat');
      while (!printed.endsWith('}}')) await new Promise((r) => setTimeout(r, 10));
      const sent = JSON.parse(printed);
      expect(Object.keys(sent)).toEqual(['id', 'payload']);
      expect(sent.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(printed).toBe(
        openclawJson.encode({ id: sent.id, payload: { type: 'request', method: 'ping', params: { n: 1 } } }),
      );
      // nngcat answers every request with the same canned response.
      expect(await client!.request('other')).toBe('pong from nngcat');
      client!.close();
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
