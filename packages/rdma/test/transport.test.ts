/**
 * rdmaTransport's URL parsing, provider choice and refusals: the three schemes, verbs reported
 * UNAVAILABLE with the reason on this machine (no RDMA device, no kernel support), a client of
 * the wrong provider refused at the handshake, the sidecar dialect only over cma.
 */
import { IpcError } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRdmaUrl, providerByName, rdmaTransport } from '../src/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-rdma-transport-');
afterAll(() => dir.remove());

describe('rdma URLs', () => {
  it('parses the three schemes', () => {
    expect(parseRdmaUrl(new URL('rdma+shm:///tmp/a.sock'))).toEqual({ provider: 'shm', path: '/tmp/a.sock' });
    expect(parseRdmaUrl(new URL('rdma+cma:///tmp/b%20c.sock'))).toEqual({
      provider: 'cma',
      path: '/tmp/b c.sock',
    });
    expect(parseRdmaUrl(new URL('rdma+verbs://10.0.0.1:7471'))).toEqual({
      provider: 'verbs',
      host: '10.0.0.1',
      port: 7471,
    });
    expect(parseRdmaUrl(new URL('rdma+verbs://[::1]:0'))).toEqual({
      provider: 'verbs',
      host: '::1',
      port: 0,
    });
  });

  it('refuses other schemes and URLs without a path or port (INVALID_ARGUMENT)', () => {
    for (const bad of [
      'rdma://x/y',
      'rdma+ib:///a',
      'rdma+shm://',
      'rdma+cma://host/a.sock',
      'rdma+verbs://10.0.0.1',
    ]) {
      expect(() => parseRdmaUrl(new URL(bad))).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('provider choice and refusals', () => {
  it('the three providers are named by the schemes', () => {
    expect(rdmaTransport.schemes).toEqual(['rdma+shm', 'rdma+cma', 'rdma+verbs']);
    expect(rdmaTransport.dialects).toEqual(['msgpack', 'sidecar']);
  });

  it('verbs here: UNAVAILABLE naming the reason the system gave', async () => {
    const verbs = await providerByName('verbs');
    const a = verbs.availability();
    expect(a.available).toBe(false);
    const reason = a.available ? '' : a.reason;
    const err = await rdmaTransport.connect(new URL('rdma+verbs://127.0.0.1:9')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe('UNAVAILABLE');
    expect((err as IpcError).message).toContain(reason);
    const listening = await rdmaTransport
      .listen(new URL('rdma+verbs://127.0.0.1:0'))
      .catch((e: unknown) => e);
    expect((listening as IpcError).code).toBe('UNAVAILABLE');
  });

  it('a client of another provider is refused at the handshake; the server keeps serving', async () => {
    const path = dir.path('mismatch.sock');
    const server = await rdmaTransport.listen(new URL(`rdma+cma://${path}`), {
      handlers: { echo: (p: unknown) => p },
    });
    try {
      const err = await rdmaTransport
        .connect(new URL(`rdma+shm://${path}`), { reconnect: false })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IpcError);
      expect(['CONNECT', 'PROTOCOL', 'CLOSED']).toContain((err as IpcError).code);
      const ok = await rdmaTransport.connect(new URL(`rdma+cma://${path}`), { reconnect: false });
      expect(await ok.request('echo', 'still here')).toBe('still here');
      ok.close();
    } finally {
      await server.close();
    }
  });

  it('the sidecar dialect is served over cma only', async () => {
    const err = await rdmaTransport
      .listen(new URL(`rdma+shm://${dir.path('sc.sock')}`), { dialect: 'sidecar' })
      .catch((e: unknown) => e);
    expect((err as IpcError).code).toBe('INVALID_ARGUMENT');
  });

  it('closing the server unlinks its control socket and releases its endpoint', async () => {
    const path = dir.path('close.sock');
    const server = await rdmaTransport.listen(new URL(`rdma+shm://${path}`));
    const { existsSync } = await import('node:fs');
    expect(existsSync(path)).toBe(true);
    await server.close();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.shm`)).toBe(false);
  });
});

describe('limits under their one name', () => {
  it('maxQueuedBytes bounds the bytes waiting for the peer: a message over it is CAPACITY, nothing sent', async () => {
    const path = dir.path('queued.sock');
    const server = await rdmaTransport.listen(new URL(`rdma+cma://${path}`), {
      handlers: { size: (b: Uint8Array) => b.byteLength },
    });
    const client = await rdmaTransport.connect(new URL(`rdma+cma://${path}`), {
      reconnect: false,
      maxQueuedBytes: 100 * 1024,
    });
    try {
      const err = await client.request('size', new Uint8Array(200 * 1024)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CAPACITY' });
      expect(await client.request('size', new Uint8Array(90 * 1024))).toBe(90 * 1024);
    } finally {
      client.close();
      await server.close();
    }
  });
});
