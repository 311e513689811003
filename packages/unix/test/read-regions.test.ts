/**
 * A dialled link reads into regions of a slab (regionReads) and hands out views of them: what it
 * delivered must stay intact while later reads arrive, across reads that split frames and across
 * slabs, and reading must pause and resume like a socket with 'data' events.
 */
import { connect } from 'node:net';
import { msgpackDialect, RpcClient, RpcServer } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { connectUnix, type SocketLink, UnixListener } from '../src/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-unix-regions-');
afterAll(() => dir.remove());

/** A payload whose bytes say which request it belongs to. */
const payload = (i: number) => new Uint8Array(1 + ((i * 7919) % 40_000)).fill(i % 251);

describe('reads into slab regions', () => {
  it('keeps every received payload intact while many more reads arrive', async () => {
    const path = dir.path('a.sock');
    const server = new RpcServer({ dialect: msgpackDialect }).handle('echo', (p: Uint8Array) => p);
    server.serve(await UnixListener.listen(path));
    const client = await RpcClient.connect({
      dialect: msgpackDialect,
      link: (s) => connectUnix(path, {}, s),
    });
    // ~4 MB of replies: many reads, frames split between reads, many slabs.
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.request('echo', payload(i)) as Promise<Uint8Array>),
    );
    // Checked only now, after every read: a reused read buffer would have overwritten them.
    results.forEach((r, i) => {
      expect(r.byteLength).toBe(payload(i).byteLength);
      expect(r.every((b) => b === i % 251)).toBe(true);
    });
    client.close();
    await server.close();
  });

  it('an accepted link keeps what it received intact while more reads arrive', async () => {
    const path = dir.path('c.sock');
    const kept: Uint8Array[] = [];
    const server = new RpcServer({ dialect: msgpackDialect })
      .handle('keep', (p: Uint8Array) => {
        kept.push(p);
        return null;
      })
      .handle('verify', () =>
        kept.every((p, i) => p.byteLength === payload(i).byteLength && p.every((b) => b === i % 251)),
      );
    server.serve(await UnixListener.listen(path));
    const client = await RpcClient.connect({
      dialect: msgpackDialect,
      link: (s) => connectUnix(path, {}, s),
    });
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => client.request('keep', payload(i + j))));
    }
    expect(kept).toHaveLength(200);
    expect(await client.request('verify')).toBe(true);
    client.close();
    await server.close();
  });

  it('an accepted link reads with data events: the bytes a client writes reach it whole', async () => {
    const path = dir.path('d.sock');
    const listener = await UnixListener.listen(path);
    const accepted = new Promise<SocketLink>((resolve) => listener.onLink((l) => resolve(l as SocketLink)));
    const client = connect(path);
    const link = await accepted;
    let received = 0;
    link.attach({ onFrame: (f) => (received += (f as Uint8Array).byteLength), onClose: () => {} });
    const frame = Buffer.alloc(4 + 1000, 1);
    frame.writeUInt32LE(1000, 0);
    client.write(frame);
    await vi.waitFor(() => expect(received).toBe(1000));
    client.destroy();
    await listener.close();
  });

  it('delivers frames that arrive while paused once resumed, in order', async () => {
    const path = dir.path('b.sock');
    const listener = await UnixListener.listen(path);
    const accepted = new Promise<SocketLink>((resolve) => listener.onLink((l) => resolve(l as SocketLink)));
    const link = await connectUnix(path);
    const server = await accepted;
    server.attach({ onFrame: () => {}, onClose: () => {} });
    // Sent before the client attaches: held by the paused socket, nothing lost.
    for (let i = 0; i < 50; i++) server.send(payload(i));
    await new Promise((r) => setTimeout(r, 20));
    const got: Uint8Array[] = [];
    const done = new Promise<void>((resolve) =>
      link.attach({
        onFrame: (f) => {
          got.push(f as Uint8Array);
          if (got.length === 50) resolve();
        },
        onClose: () => {},
      }),
    );
    await done;
    got.forEach((f, i) => {
      expect(Buffer.from(f).equals(Buffer.from(payload(i)))).toBe(true);
    });
    link.close();
    await listener.close();
  });
});
