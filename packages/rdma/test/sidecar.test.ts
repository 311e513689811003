/**
 * The sidecar engine protocol served for real, across two processes: StartRead registers a
 * session window, the reader reads it one-sidedly over cma and CompleteRead compares CRC32Cs;
 * sessions expire and are capped; a wrong key or a range outside the window is an IpcError.
 */
import { IpcError } from '@openclaw-ipc/core';
import { createSidecarDialect } from '@openclaw-ipc/unix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c, rdmaTransport, SidecarReader } from '../src/index.js';
import { native } from '../src/native-bridge.js';
import { type ChildServer, patterned, startChild, tempDir } from './helpers.js';

const dir = tempDir('oc-rdma-sidecar-');
afterAll(() => dir.remove());

describe('sidecar engine over rdma+cma', () => {
  const path = dir.path('engine.sock');
  let engine: ChildServer;
  beforeAll(async () => {
    engine = await startChild('engine.ts', [path, '3']);
  });
  afterAll(() => engine?.stop());

  it.each(['array', 'map'] as const)(
    'reads a needle one-sidedly, CRC32C compared (%s encoding)',
    async (encoding) => {
      const reader = await SidecarReader.connect(path, { encoding });
      try {
        expect(reader.engine.pid).toBe(engine.child.pid);
        const whole = await reader.read({ volume_id: 1, needle_id: 42, cookie: 0 });
        expect(whole.bytes.equals(patterned(1024 * 1024))).toBe(true);
        expect(whole.crc).toBe(whole.session.expected_crc);
        const part = await reader.read({ volume_id: 1, needle_id: 42, cookie: 0, offset: 1000, size: 5000 });
        expect(part.bytes.equals(patterned(1024 * 1024).subarray(1000, 6000))).toBe(true);
        const big = await reader.read({ volume_id: 7, needle_id: 2n ** 60n, cookie: 0 });
        expect(crc32c(big.bytes)).toBe(crc32c(patterned(64 * 1024)));
        const caps = await reader.client.request('GetCapabilities', {});
        expect(caps).toMatchObject({
          device_name: 'openclaw-ipc-cma',
          real_rdma: false,
          max_sessions: 3,
          active_sessions: 0,
        });
      } finally {
        reader.close();
      }
    },
  );

  it('answers an unknown needle and a range past its end with Error', async () => {
    const reader = await SidecarReader.connect(path);
    try {
      await expect(reader.read({ volume_id: 9, needle_id: 9, cookie: 0 })).rejects.toMatchObject({
        code: 'REMOTE',
        remoteCode: 'NOT_FOUND',
      });
      await expect(
        reader.read({ volume_id: 1, needle_id: 43, cookie: 0, offset: 2, size: 5 }),
      ).rejects.toMatchObject({
        remoteCode: 'INVALID_REQUEST',
      });
    } finally {
      reader.close();
    }
  });

  it('refuses a wrong key and a read outside the window, without reading other memory', async () => {
    const reader = await SidecarReader.connect(path);
    try {
      const s = await reader.client.request('StartRead', {
        volume_id: 1,
        needle_id: 43,
        cookie: 0,
        offset: 0,
        size: 0,
        remote_addr: 0,
        remote_key: 0,
        timeout_secs: 30,
      });
      const peer = native().cmaPeer(
        reader.engine.pid,
        BigInt(`0x${(await reader.client.request('GetCapabilities', {})).port_gid.slice(8)}`),
      );
      const into = Buffer.alloc(64);
      const wrongKey = await peer
        .read((s.local_key ^ 0x100) >>> 0, BigInt(s.local_addr), 3, into, 0)
        .catch((e: Error) => e);
      expect(wrongKey).toMatchObject({ code: 'EKEY' });
      const outside = await peer.read(s.local_key, BigInt(s.local_addr), 64, into, 0).catch((e: Error) => e);
      expect(outside).toMatchObject({ code: 'ERANGE' });
      expect(await peer.read(s.local_key, BigInt(s.local_addr), 3, into, 0)).toBe(3);
      expect(into.subarray(0, 3).toString()).toBe('abc');
      peer.close();
      const done = await reader.client.request('CompleteRead', {
        session_id: s.session_id,
        success: true,
        bytes_transferred: 3,
        client_crc: 1,
      });
      expect(done).toMatchObject({ success: false, server_crc: crc32c(Buffer.from('abc')) });
    } finally {
      reader.close();
    }
  });

  it('caps active sessions (CAPACITY) and frees them on CompleteRead', async () => {
    const reader = await SidecarReader.connect(path);
    const start = () =>
      reader.client.request('StartRead', {
        volume_id: 1,
        needle_id: 43,
        cookie: 0,
        offset: 0,
        size: 0,
        remote_addr: 0,
        remote_key: 0,
        timeout_secs: 30,
      });
    try {
      const sessions = [await start(), await start(), await start()];
      await expect(start()).rejects.toMatchObject({ code: 'REMOTE', remoteCode: 'CAPACITY' });
      expect((await reader.client.request('GetCapabilities', {})).active_sessions).toBe(3);
      for (const s of sessions)
        await reader.client.request('CompleteRead', {
          session_id: s.session_id,
          success: false,
          bytes_transferred: 0,
        });
      expect((await reader.client.request('GetCapabilities', {})).active_sessions).toBe(0);
      const again = await start();
      await reader.client.request('CompleteRead', {
        session_id: again.session_id,
        success: false,
        bytes_transferred: 0,
      });
    } finally {
      reader.close();
    }
  });

  it('expires sessions: the window is deregistered and CompleteRead finds no session', async () => {
    const reader = await SidecarReader.connect(path);
    try {
      const s = await reader.client.request('StartRead', {
        volume_id: 1,
        needle_id: 43,
        cookie: 0,
        offset: 0,
        size: 0,
        remote_addr: 0,
        remote_key: 0,
        timeout_secs: 1,
      });
      const caps = await reader.client.request('GetCapabilities', {});
      const peer = native().cmaPeer(reader.engine.pid, BigInt(`0x${caps.port_gid.slice(8)}`));
      await new Promise((r) => setTimeout(r, 1300));
      const err = await peer
        .read(s.local_key, BigInt(s.local_addr), 3, Buffer.alloc(3), 0)
        .catch((e: Error) => e);
      expect(['EKEY', 'EEXPIRED']).toContain((err as unknown as { code: string }).code);
      peer.close();
      await expect(
        reader.client.request('CompleteRead', {
          session_id: s.session_id,
          success: true,
          bytes_transferred: 3,
        }),
      ).rejects.toMatchObject({ remoteCode: 'SESSION_NOT_FOUND' });
      expect((await reader.client.request('GetCapabilities', {})).active_sessions).toBe(0);
    } finally {
      reader.close();
    }
  });

  it("serves a map-encoding client through rdmaTransport's sidecar dialect (u64 exact)", async () => {
    const client = await rdmaTransport.connect(new URL(`rdma+cma://${path}`), {
      dialect: createSidecarDialect({ encoding: 'map' }),
      reconnect: false,
    });
    try {
      const pong = (await client.request('Ping', { timestamp_ns: 1n << 62n })) as {
        client_timestamp_ns: bigint;
      };
      expect(pong.client_timestamp_ns).toBe(1n << 62n);
    } finally {
      client.close();
    }
  });
});

describe('provider errors', () => {
  it('a wrong key, a range outside, a closed and an expired registration are IpcErrors', async () => {
    const { cmaProvider } = await import('../src/providers/cma.js');
    const endpoint = await cmaProvider.open({ role: 'client' });
    const peer = await endpoint.connect({
      role: 'client',
      pid: process.pid,
      handshake: endpoint.handshake(),
    });
    const bytes = patterned(4096);
    const region = endpoint.register(bytes);
    const into = Buffer.alloc(8192);
    expect(await peer.read(region.descriptor, into)).toBe(crc32c(bytes));
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof IpcError ? e.code : 'not an IpcError'),
      );
    expect(
      await codeOf(
        peer.read({ ...region.descriptor, key: (region.descriptor.key ^ 0x8000_0000) >>> 0 }, into),
      ),
    ).toBe('AUTH');
    expect(await codeOf(peer.read({ ...region.descriptor, length: 8192 }, into))).toBe('INVALID_ARGUMENT');
    const short = endpoint.register(patterned(16), { ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await codeOf(peer.read(short.descriptor, into))).toBe('AUTH');
    region.close();
    expect(await codeOf(peer.read(region.descriptor, into))).toBe('AUTH');
    peer.close();
    await endpoint.close();
  });
});
