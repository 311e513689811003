/**
 * The rendezvous protocol at the link level, against a hand-driven peer on a real control
 * socket: the RELEASE deregisters, an unreleased registration expires (a late read fails and
 * the sender forgets it), a CRC32C mismatch closes the link with PROTOCOL after a RELEASE
 * {ok: false}, and closing a link deregisters what it still had registered.
 */
import type { Frame, IpcError, Link } from '@openclaw-ipc/core';
import { connectUnix, UnixListener } from '@openclaw-ipc/unix';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CONTROL_VERSION,
  type ControlFrame,
  crc32c,
  decodeControl,
  encodeHello,
  encodeRelease,
  encodeRendezvous,
  handshake,
  type ProviderEndpoint,
  type RdmaLink,
  type RemotePeer,
} from '../src/index.js';
import { cmaProvider } from '../src/providers/cma.js';
import { patterned, tempDir } from './helpers.js';

const dir = tempDir('oc-rdma-rv-');
afterAll(() => dir.remove());

interface Setup {
  server: RdmaLink;
  serverFrames: Uint8Array[];
  serverClosed: Promise<IpcError | undefined>;
  raw: Link;
  rawFrames: ControlFrame[];
  next: () => Promise<ControlFrame>;
  mine: ProviderEndpoint;
  peer: RemotePeer;
  close: () => Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A server-side RdmaLink (cma) and a raw client that speaks the control protocol by hand. */
async function setup(ttlMs: number): Promise<Setup> {
  const path = dir.path(`rv-${Math.random().toString(36).slice(2)}.sock`);
  const listener = await UnixListener.listen(path);
  const endpoint = await cmaProvider.open({ role: 'server' });
  const serverLink = new Promise<RdmaLink>((resolve, reject) =>
    listener.onLink((control) => {
      handshake(control, endpoint, 'server', (b) => crc32c(b), undefined, { rendezvousTtlMs: ttlMs }).then(
        resolve,
        reject,
      );
    }),
  );
  const raw = await connectUnix(path);
  const rawFrames: ControlFrame[] = [];
  const waiters: Array<(f: ControlFrame) => void> = [];
  raw.attach({
    onFrame(frame: Frame) {
      const c = decodeControl(frame as Uint8Array, 1 << 30);
      const w = waiters.shift();
      if (w) w(c);
      else rawFrames.push(c);
    },
    onClose() {},
  });
  const next = () =>
    new Promise<ControlFrame>((resolve) => {
      const f = rawFrames.shift();
      if (f) resolve(f);
      else waiters.push(resolve);
    });
  const mine = await cmaProvider.open({ role: 'client' });
  raw.send(
    encodeHello({ v: CONTROL_VERSION, provider: 'cma', pid: process.pid, handshake: mine.handshake() }),
  );
  const server = await serverLink;
  const hello = await next();
  expect(hello.kind).toBe('hello');
  const peer = await mine.connect({
    role: 'client',
    pid: process.pid,
    handshake: (hello as { handshake: Record<string, unknown> }).handshake,
  });
  const serverFrames: Uint8Array[] = [];
  const serverClosed = new Promise<IpcError | undefined>((resolve) =>
    server.attach({ onFrame: (f) => serverFrames.push(f as Uint8Array), onClose: resolve }),
  );
  const close = async () => {
    server.close();
    raw.close();
    peer.close();
    await mine.close();
    await endpoint.close();
    await listener.close();
  };
  cleanups.push(close);
  return { server, serverFrames, serverClosed, raw, rawFrames, next, mine, peer, close };
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('rendezvous', () => {
  it('RELEASE deregisters the region; a later read with its descriptor fails AUTH', async () => {
    const s = await setup(30_000);
    const bytes = patterned(1024 * 1024);
    await s.server.send(bytes);
    const rv = await s.next();
    expect(rv.kind).toBe('rendezvous');
    const { region, crc, id } = rv as Extract<ControlFrame, { kind: 'rendezvous' }>;
    expect(crc).toBe(crc32c(bytes));
    const into = Buffer.alloc(region.length);
    expect(await s.peer.read(region, into)).toBe(crc);
    expect(s.server.pendingRegions).toBe(1);
    s.raw.send(encodeRelease({ id, ok: true }));
    await until(() => s.server.pendingRegions === 0);
    await expect(s.peer.read(region, into)).rejects.toMatchObject({ code: 'AUTH' });
  });

  it('an unreleased registration expires: the read fails and the sender forgets it', async () => {
    const s = await setup(200);
    await s.server.send(patterned(256 * 1024));
    const { region } = (await s.next()) as Extract<ControlFrame, { kind: 'rendezvous' }>;
    await new Promise((r) => setTimeout(r, 300));
    await expect(s.peer.read(region, Buffer.alloc(region.length))).rejects.toMatchObject({ code: 'AUTH' });
    await until(() => s.server.pendingRegions === 0);
    expect(s.server.pendingRegions).toBe(0);
  });

  it('closing the link deregisters what it still had registered', async () => {
    const s = await setup(30_000);
    await s.server.send(patterned(200 * 1024));
    const { region } = (await s.next()) as Extract<ControlFrame, { kind: 'rendezvous' }>;
    s.server.close();
    expect(s.server.pendingRegions).toBe(0);
    await expect(s.peer.read(region, Buffer.alloc(region.length))).rejects.toMatchObject({ code: 'AUTH' });
  });

  it('a CRC32C mismatch closes the link with PROTOCOL after RELEASE {ok: false}', async () => {
    const s = await setup(30_000);
    const bytes = patterned(300 * 1024);
    const mineRegion = s.mine.register(bytes);
    s.raw.send(encodeRendezvous({ id: 9, region: mineRegion.descriptor, crc: (crc32c(bytes) ^ 1) >>> 0 }));
    const release = await s.next();
    expect(release).toMatchObject({ kind: 'release', id: 9, ok: false });
    expect((await s.serverClosed)?.code).toBe('PROTOCOL');
    expect(s.serverFrames).toHaveLength(0);
    mineRegion.close();
  });

  it('delivers a correct rendezvous from the peer, in order with inline frames', async () => {
    const s = await setup(30_000);
    const bytes = patterned(500 * 1024);
    const mineRegion = s.mine.register(bytes);
    s.raw.send(encodeRendezvous({ id: 1, region: mineRegion.descriptor, crc: crc32c(bytes) }));
    s.raw.send(Uint8Array.of(0, 0x2a)); // DATA right behind it
    expect(await s.next()).toMatchObject({ kind: 'release', id: 1, ok: true });
    await until(() => s.serverFrames.length === 2);
    expect(Buffer.from(s.serverFrames[0]!).equals(bytes)).toBe(true);
    expect([...s.serverFrames[1]!]).toEqual([0x2a]);
    mineRegion.close();
  });
});
