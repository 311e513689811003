/**
 * What WsLink writes, on both paths (util/modes.ts): frames in order across the batch and
 * ws.send (large frames), a backlog the kernel has not taken counted in queuedBytes, the bounds of
 * backpressure (a promise over highWaterMark, CAPACITY over maxQueuedBytes), and close codes both
 * ways.
 */
import { type Frame, IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { show } from './util/frames.js';
import { linkAndPeer, linkPair, socketUnder } from './util/links.js';
import { LINK_MODES } from './util/modes.js';
import { delay, until } from './util/raw.js';

const isPromise = (v: unknown): v is Promise<void> =>
  typeof (v as Promise<void> | undefined)?.then === 'function';

describe.each(LINK_MODES)('WsLink writes, $name', ({ fastPath }) => {
  it('a write the kernel does not take at once stays counted in queuedBytes, and order holds', async () => {
    const { link, peer } = await linkAndPeer(fastPath);
    const got: string[] = [];
    peer.on('message', (data) => got.push(String(data)));
    const socket = socketUnder(peer);
    socket.pause();
    // One frame per tick (each written at once) until the kernel stops taking them whole.
    const frame = (i: number) => `${i}:${'z'.repeat(8000)}`;
    let sent = 0;
    let backlogInKernelWrite = false;
    while (sent < 20_000) {
      await link.send(frame(sent++));
      await new Promise((r) => setImmediate(r));
      if (link.queuedBytes > 0) {
        // Fast path: nothing in the stream's queue, the bytes counted are the pending direct
        // write's. Public path: they are in the stream's queue.
        backlogInKernelWrite = socketUnder(link.socket).writableLength === 0;
        break;
      }
    }
    expect(backlogInKernelWrite).toBe(fastPath);
    // More frames now go through the stream, behind the pending write.
    for (let i = 0; i < 20; i++) {
      const pending = link.send(frame(sent++));
      if (pending) void pending.catch(() => {});
    }
    expect(link.queuedBytes).toBeGreaterThan(0);
    socket.resume();
    while (got.length < sent) await new Promise((r) => setTimeout(r, 5));
    expect(got.map((m) => Number(m.slice(0, m.indexOf(':'))))).toEqual(
      Array.from({ length: sent }, (_, i) => i),
    );
    expect(got.every((m, i) => m === frame(i))).toBe(true);
    expect(link.queuedBytes).toBe(0);
  });

  it('keeps the order of small (batched) and large (ws.send) frames, text and binary, both ways', async () => {
    const { server, client, serverGot, clientGot } = await linkPair(fastPath);
    const sizes = [10, 16 * 1024, 16 * 1024 + 1, 3, 70_000, 5, 1_048_000, 125, 126, 65_536];
    const frames: Frame[] = sizes.flatMap((n, i) => [
      `${i}:${'é'.repeat(Math.floor(n / 2))}`,
      new Uint8Array(n).fill(i + 1),
    ]);
    for (const f of frames) {
      void client.send(f);
      void server.send(f);
    }
    await until(() => serverGot.length === frames.length && clientGot.length === frames.length, 10_000);
    expect(serverGot.map(show)).toEqual(frames.map(show));
    expect(clientGot.map(show)).toEqual(frames.map(show));
  });

  it('over highWaterMark a send returns a promise that settles once drained; over maxQueuedBytes, CAPACITY', async () => {
    const { link, peer, closed } = await linkAndPeer(fastPath, {
      highWaterMark: 64 * 1024,
      maxQueuedBytes: 1024 * 1024,
    });
    let received = 0;
    peer.on('message', () => received++);
    const socket = socketUnder(peer);
    socket.pause();
    const chunk = 'q'.repeat(8 * 1024);
    let sent = 0;
    // Until the kernel's buffers are full too: a send whose promise stays pending.
    let waiting: Promise<void> | undefined;
    while (!waiting && sent < 20_000) {
      const r = link.send(chunk);
      sent++;
      if (isPromise(r)) {
        const settledSoon = await Promise.race([r.then(() => true), delay(50).then(() => false)]);
        // Unsettled after 50 ms with the bytes still queued (on a loaded machine the drain of a
        // short queue can take that long too: then keep sending).
        if (!settledSoon && link.queuedBytes > 64 * 1024) waiting = r;
      } else if (sent % 16 === 0) await delay(0);
    }
    expect(waiting).toBeDefined();
    expect(link.queuedBytes).toBeGreaterThan(64 * 1024);
    let settled = false;
    void waiting!.then(() => (settled = true));
    await delay(50);
    expect(settled).toBe(false);
    socket.resume();
    await waiting;
    await until(() => received === sent, 10_000);
    // A peer that stops reading for good: the link gives up at maxQueuedBytes.
    socket.pause();
    let error: unknown;
    for (let i = 0; i < 20_000 && error === undefined; i++) {
      try {
        const r = link.send(chunk);
        if (isPromise(r)) void r.catch(() => {});
      } catch (e) {
        error = e;
      }
      if (i % 16 === 0) await delay(0);
    }
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('CAPACITY');
    expect((await closed)?.code).toBe('CAPACITY');
  });

  it('closes with the code that tells the peer why', async () => {
    const cases: Array<[IpcError | undefined, number]> = [
      [undefined, 1000],
      [new IpcError('MESSAGE_TOO_LARGE', 'big'), 1009],
      [new IpcError('AUTH', 'who'), 1008],
      [new IpcError('PROTOCOL', 'bad'), 1002],
      [new IpcError('SERIALIZATION', 'utf8'), 1007],
      [new IpcError('CLOSED', 'bye'), 1001],
    ];
    for (const [error, code] of cases) {
      const { link, peer } = await linkAndPeer(fastPath);
      const seen = new Promise<number>((r) => peer.once('close', (c) => r(c)));
      link.close(error);
      expect(await seen).toBe(code);
    }
  });

  it("turns the peer's close code into the link's error", async () => {
    const cases: Array<[number, string | undefined]> = [
      [1000, undefined],
      [1001, undefined],
      [1009, 'MESSAGE_TOO_LARGE'],
      [1008, 'AUTH'],
      [1013, 'CAPACITY'],
      [1002, 'PROTOCOL'],
      [4000, 'CLOSED'],
    ];
    for (const [code, expected] of cases) {
      const { peer, closed } = await linkAndPeer(fastPath);
      peer.close(code, 'why');
      const error = await closed;
      expect(error?.code).toBe(expected);
      if (error) expect(error.details).toMatchObject({ closeCode: code, reason: 'why' });
    }
  });
});
