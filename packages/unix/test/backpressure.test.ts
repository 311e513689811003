/**
 * Flow control and limits on real sockets: a slow reader slows its writer, a reader that
 * never reads is disconnected with CAPACITY, a frame over the limit closes only its link.
 */
import { connect, type Socket } from 'node:net';
import { type IpcError, msgpackDialect, RpcClient, RpcServer } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { connectUnix, frameHeader, type SocketLink, UnixListener } from '../src/index.js';
import { sleep, tempDir, until } from './helpers.js';

const dir = tempDir('oc-unix-bp-');
let n = 0;
const nextPath = () => dir.path(`bp${n++}.sock`);
afterAll(() => dir.remove());

/** A listener whose accepted links are handed to the test, and a raw socket connected to it. */
async function linkAndRawPeer(options: ConstructorParameters<typeof SocketLink>[1] = {}) {
  const path = nextPath();
  const listener = await UnixListener.listen(path, options);
  const accepted = new Promise<SocketLink>((resolve) => listener.onLink((l) => resolve(l as SocketLink)));
  const raw: Socket = connect(path);
  await new Promise((r) => raw.once('connect', r));
  const link = await accepted;
  return { listener, link, raw };
}

describe('backpressure', () => {
  it('a slow reader slows its writer; the queue stays near the high-water mark', async () => {
    const highWaterMark = 64 * 1024;
    const { listener, link, raw } = await linkAndRawPeer({ highWaterMark, maxQueuedBytes: 4 * 1024 * 1024 });
    let closeError: IpcError | undefined;
    link.attach({ onFrame: () => {}, onClose: (e) => (closeError = e) });
    raw.pause();
    let received = 0;
    const reader = setInterval(() => {
      // A slow reader: a little at a time.
      for (let i = 0; i < 4; i++) {
        const chunk = raw.read(Math.min(16 * 1024, raw.readableLength) || undefined) as Buffer | null;
        if (chunk) received += chunk.length;
      }
    }, 5);
    const frame = new Uint8Array(8 * 1024);
    let waits = 0;
    let maxQueued = 0;
    const total = 400;
    for (let i = 0; i < total; i++) {
      const sent = link.send(frame);
      maxQueued = Math.max(maxQueued, link.queuedBytes);
      if (sent) {
        waits++;
        await sent;
      }
    }
    await until(() => received >= total * (frame.length + 4));
    clearInterval(reader);
    expect(waits).toBeGreaterThan(0);
    expect(maxQueued).toBeLessThanOrEqual(highWaterMark + frame.length + 4);
    expect(closeError).toBeUndefined();
    raw.destroy();
    await listener.close();
  });

  it('disconnects a peer that never reads with CAPACITY once maxQueuedBytes is passed', async () => {
    const maxQueuedBytes = 1024 * 1024;
    const { listener, link, raw } = await linkAndRawPeer({ highWaterMark: 64 * 1024, maxQueuedBytes });
    let closeError: IpcError | undefined;
    link.attach({ onFrame: () => {}, onClose: (e) => (closeError = e) });
    raw.pause(); // never reads
    const frame = new Uint8Array(32 * 1024);
    let thrown: IpcError | undefined;
    for (let i = 0; i < 10_000 && !thrown; i++) {
      try {
        const sent = link.send(frame);
        if (sent) sent.catch(() => {}); // ignores backpressure on purpose
      } catch (err) {
        thrown = err as IpcError;
      }
    }
    expect(thrown?.code).toBe('CAPACITY');
    expect(closeError?.code).toBe('CAPACITY');
    expect(() => link.send(frame)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    raw.destroy();
    await listener.close();
  });

  it('a server stops serving a client that does not read its replies, and keeps serving others', async () => {
    const path = nextPath();
    const errors: IpcError[] = [];
    const server = new RpcServer({
      dialect: msgpackDialect,
      maxConcurrent: 8,
      onError: (e) => errors.push(e),
    });
    server.handle('blob', (p: { size: number }) => new Uint8Array(p.size));
    server.handle('echo', (p) => p);
    server.serve(await UnixListener.listen(path, { highWaterMark: 64 * 1024, maxQueuedBytes: 512 * 1024 }));
    // A raw client that sends many requests and never reads.
    const raw = connect(path);
    await new Promise((r) => raw.once('connect', r));
    raw.pause();
    for (let i = 0; i < 200; i++) {
      const body = msgpackDialect.encode({
        id: `r${i}`,
        payload: { type: 'request', method: 'blob', params: { size: 64 * 1024 } },
      }) as Uint8Array;
      raw.write(Buffer.concat([frameHeader(body.byteLength), body]));
    }
    const other = await RpcClient.connect({ dialect: msgpackDialect, link: (s) => connectUnix(path, {}, s) });
    expect(await other.request('echo', 'still here')).toBe('still here');
    // The stalled connection runs at most maxConcurrent requests and queues at most
    // maxQueuedBytes (or has been dropped for passing it): nothing grows without bound.
    await sleep(50);
    for (const conn of server.connections) {
      expect(conn.active.size).toBeLessThanOrEqual(8);
      expect((conn.link as SocketLink).queuedBytes).toBeLessThanOrEqual(512 * 1024);
    }
    expect(errors.every((e) => e.code === 'CAPACITY' || e.code === 'CLOSED')).toBe(true);
    other.close();
    raw.destroy();
    await server.close();
  });
});

describe('frame limit', () => {
  it('closes only the link that sent a frame over the limit, with MESSAGE_TOO_LARGE', async () => {
    const path = nextPath();
    const listener = await UnixListener.listen(path, { maxMessageSize: 64 * 1024 });
    const server = new RpcServer({ dialect: msgpackDialect });
    server.handle('echo', (p) => p);
    const closes: Array<IpcError | undefined> = [];
    // Serve each link through a pass-through that records how it closed.
    listener.onLink((link) =>
      server.attach({
        transport: link.transport,
        attach: (handler) =>
          link.attach({
            onFrame: (frame) => handler.onFrame(frame),
            onClose: (error) => {
              closes.push(error);
              handler.onClose(error);
            },
          }),
        send: (frame) => link.send(frame),
        close: (error) => link.close(error),
      }),
    );
    const good = await RpcClient.connect({
      dialect: msgpackDialect,
      link: (s) => connectUnix(path, {}, s),
      reconnect: false,
    });
    const bad = connect(path);
    await new Promise((r) => bad.once('connect', r));
    const badClosed = new Promise((r) => bad.once('close', r));
    // A header declaring 2 MiB: refused before any body is buffered.
    bad.write(frameHeader(2 * 1024 * 1024));
    bad.write(Buffer.alloc(1024));
    await badClosed;
    await until(() => closes.length > 0);
    expect(closes[0]?.code).toBe('MESSAGE_TOO_LARGE');
    expect(await good.request('echo', 'fine')).toBe('fine');
    expect(good.state).toBe('open');
    good.close();
    await server.close();
    await listener.close();
  });
});
