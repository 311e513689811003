/**
 * The rdma transport end to end across two processes, for each same-host provider: inline
 * messages, rendezvous in both directions (server results and client params, CRC32C checked),
 * frames in order, and a server killed while a request waits.
 */
import { IpcError, type RpcClient } from '@openclaw-ipc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c, RECEIVE_BUFFER_MIN, rdmaTransport, receiveCache } from '../src/index.js';
import { type ChildServer, patterned, startChild, tempDir } from './helpers.js';

const dir = tempDir('oc-rdma-2p-');
afterAll(() => dir.remove());

describe.each(['cma', 'shm'] as const)('rdma+%s across two processes', (provider) => {
  const url = new URL(`rdma+${provider}://${dir.path(`${provider}.sock`)}`);
  let server: ChildServer;
  let client: RpcClient;

  beforeAll(async () => {
    server = await startChild('server.ts', [url.href]);
    client = await rdmaTransport.connect(url, { reconnect: false });
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  it('answers small requests inline', async () => {
    expect(await client.request('echo', { hello: 'world', n: 42 })).toEqual({ hello: 'world', n: 42 });
    expect(await client.request('pid')).toBe(server.child.pid);
  });

  it('reads large results by rendezvous, CRC32C checked', async () => {
    for (const size of [64 * 1024 + 1, 1024 * 1024, 16 * 1024 * 1024]) {
      const bytes = (await client.request('blob', { size })) as Uint8Array;
      expect(bytes.byteLength).toBe(size);
      expect(crc32c(bytes)).toBe(crc32c(patterned(size)));
    }
  });

  it('reads results and params of 32 MiB and more into the addon receive buffers, both ways', async () => {
    const size = RECEIVE_BUFFER_MIN + 4099;
    const expected = crc32c(patterned(size));
    const before = receiveCache();
    for (let i = 0; i < 2; i++) {
      const bytes = (await client.request('blob', { size })) as Uint8Array;
      expect(bytes.byteLength).toBe(size);
      expect(crc32c(bytes)).toBe(expected);
    }
    const after = receiveCache();
    expect(after.hits + after.misses - before.hits - before.misses).toBe(2);
    // The server reads large params into its own receive buffers.
    const data = patterned(size);
    expect(await client.request('crc', { data })).toEqual({ length: size, crc: expected });
  });

  it('sends large params by rendezvous (the server reads them)', async () => {
    const data = patterned(3 * 1024 * 1024 + 7);
    expect(await client.request('crc', { data })).toEqual({ length: data.byteLength, crc: crc32c(data) });
  });

  it('carries several large binaries in one message, out of band, both ways', async () => {
    const params = {
      a: patterned(100_000),
      nested: { b: patterned(200_000), list: [patterned(300_000), 'x'] },
    };
    const echoed = (await client.request('echo', params)) as typeof params;
    expect(Buffer.from(echoed.a).equals(params.a)).toBe(true);
    expect(Buffer.from(echoed.nested.b).equals(params.nested.b)).toBe(true);
    expect(Buffer.from(echoed.nested.list[0] as Uint8Array).equals(params.nested.list[0] as Buffer)).toBe(
      true,
    );
    expect(echoed.nested.list[1]).toBe('x');
  });

  it('keeps many large and small requests apart, in flight at once', async () => {
    const sizes = [100, 200 * 1024, 5, 1024 * 1024, 70_000, 1];
    const results = await Promise.all(
      sizes.map((size) => client.request('blob', { size }) as Promise<Uint8Array>),
    );
    for (const [i, size] of sizes.entries()) expect(crc32c(results[i]!)).toBe(crc32c(patterned(size)));
  });
});

describe('peer death', () => {
  it('a request waiting on a killed server rejects CLOSED', async () => {
    const url = new URL(`rdma+cma://${dir.path('death.sock')}`);
    const server = await startChild('server.ts', [url.href]);
    const client = await rdmaTransport.connect(url, { reconnect: false });
    try {
      const pending = client.request('hang');
      await client.request('echo', 1); // the hang request has reached the server
      server.child.kill('SIGKILL');
      await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    } finally {
      client.close();
      await server.exited;
    }
  });

  it("a rendezvous read of a dead process' memory fails CLOSED (ESRCH), never crashes", async () => {
    const { cmaProvider } = await import('../src/providers/cma.js');
    const child = await startChild('region.ts', [String(8 * 1024 * 1024)]);
    const line = JSON.parse(child.output.split('\n')[0]!) as {
      key: number;
      addr: string;
      length: number;
      handshake: Record<string, unknown>;
    };
    const endpoint = await cmaProvider.open({ role: 'client' });
    const peer = await endpoint.connect({
      role: 'client',
      pid: child.child.pid!,
      handshake: { tableAddr: BigInt(line.handshake.tableAddr as string) },
    });
    const descriptor = {
      provider: 'cma' as const,
      key: line.key,
      addr: BigInt(line.addr),
      length: line.length,
    };
    const into = Buffer.alloc(line.length);
    await peer.read(descriptor, into); // alive: reads
    expect(crc32c(into)).toBe(crc32c(patterned(line.length)));
    child.child.kill('SIGKILL');
    await child.exited;
    const err = await peer.read(descriptor, into).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe('CLOSED');
    peer.close();
    await endpoint.close();
  });
});
