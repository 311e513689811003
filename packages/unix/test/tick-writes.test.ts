/**
 * How a SocketLink slices a tick's frames into writes (firstWriteOfTick): the first write of a
 * tick holds half as many frames as the previous tick sent (the first frame alone after a tick of
 * one), later ones BATCH_FRAMES (16), the rest leaves at the end of the tick; the same for the
 * replies a link sends while it delivers a chunk. Real sockets; the writes are counted by
 * parsing what the link hands to its socket's write(), and the peer must read every frame in order.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { firstWriteOfTick } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { frameHeader, SocketLink } from '../src/index.js';
import { tempDir, until } from './helpers.js';

const dir = tempDir('oc-unix-ticks-');
let n = 0;
const servers: Server[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  dir.remove();
});

/** Frames in a buffer of u32 LE length-prefixed frames. */
function framesIn(bytes: Uint8Array): Buffer[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const size = b.readUInt32LE(at);
    out.push(b.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return out;
}

/** A connected pair: `ours` under a SocketLink whose writes are counted, `raw` the plain peer. */
async function pair() {
  const path = dir.path(`t${n++}.sock`);
  let accept!: (s: Socket) => void;
  const accepted = new Promise<Socket>((resolve) => (accept = resolve));
  const server = createServer(accept);
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  const ours = connect(path);
  await new Promise((r) => ours.once('connect', r));
  const raw = await accepted;
  sockets.push(ours, raw);
  /** Frames per write() of the link, since the last take(). */
  let writes: number[] = [];
  const write = ours.write.bind(ours) as (...args: unknown[]) => boolean;
  ours.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
    writes.push(framesIn(chunk).length);
    return write(chunk, ...rest);
  }) as typeof ours.write;
  const link = new SocketLink(ours);
  const take = () => {
    const w = writes;
    writes = [];
    return w;
  };
  return { link, raw, ours, take };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('SocketLink writes per tick', () => {
  it('sizes the first write of a tick by the previous tick (firstWriteOfTick)', () => {
    expect([0, 1, 2, 3, 4, 16, 17, 31, 32, 33, 1000].map((f) => firstWriteOfTick(f, 16))).toEqual([
      1, 1, 1, 2, 2, 8, 9, 16, 16, 16, 16,
    ]);
  });

  it('sends a tick first in a slice of half the previous tick, then 16 at a time, and the peer gets all in order', async () => {
    const { link, raw, take } = await pair();
    const got: Buffer[] = [];
    let pending = Buffer.alloc(0);
    raw.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 4 && pending.length - at - 4 >= pending.readUInt32LE(at)) {
        const size = pending.readUInt32LE(at);
        got.push(pending.subarray(at + 4, at + 4 + size));
        at += 4 + size;
      }
      pending = pending.subarray(at);
    });
    link.attach({ onFrame: () => {}, onClose: () => {} });
    let sent = 0;
    const perTick: number[][] = [];
    for (const frames of [16, 16, 40, 1, 3, 1, 1]) {
      for (let i = 0; i < frames; i++) link.send(Buffer.from(`frame ${sent++}`));
      await tick();
      perTick.push(take());
    }
    expect(perTick).toEqual([
      [1, 15], // the link's first tick: as after a tick of one frame
      [8, 8],
      [8, 16, 16],
      [1], // 16 would be the first slice; the tick ends first
      [1, 2],
      [1],
      [1],
    ]);
    await until(() => got.length === sent);
    expect(got.map(String)).toEqual(Array.from({ length: sent }, (_, i) => `frame ${i}`));
  });

  it('slices the replies sent while a chunk is delivered the same way', async () => {
    const { link, raw, take } = await pair();
    let replies = 0;
    link.attach({
      onFrame: (f) => {
        link.send(Buffer.concat([Buffer.from('re: '), f as Uint8Array]));
        replies++;
      },
      onClose: () => {},
    });
    const burst = (from: number, count: number) =>
      Buffer.concat(
        Array.from({ length: count }, (_, i) => {
          const body = Buffer.from(`request ${from + i}`);
          return Buffer.concat([frameHeader(body.length), body]);
        }),
      );
    // One write of 16 frames is one read on a Unix stream socket.
    raw.write(burst(0, 16));
    await until(() => replies === 16);
    await tick();
    const first = take();
    raw.write(burst(16, 16));
    await until(() => replies === 32);
    await tick();
    const second = take();
    expect(first).toEqual([1, 15]);
    expect(second).toEqual([8, 8]);
  });
});
