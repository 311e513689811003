/** The socket file: mode 0600, stale sockets replaced, nothing else ever deleted, removed on close. */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { IpcError } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { probeSocket, UnixListener } from '../src/index.js';
import { startServerProcess, tempDir } from './helpers.js';

const dir = tempDir('oc-unix-listen-');
afterAll(() => dir.remove());

const listenError = (path: string) =>
  UnixListener.listen(path).then(
    () => {
      throw new Error('listen succeeded');
    },
    (e: unknown) => e as IpcError,
  );

describe('unix listener', () => {
  it('creates the socket file with mode 0600 and removes it on close', async () => {
    const path = dir.path('mode.sock');
    const listener = await UnixListener.listen(path);
    const stat = statSync(path);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
    await listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it('gives the socket the socketMode asked for (0o660)', async () => {
    const path = dir.path('mode2.sock');
    const listener = await UnixListener.listen(path, { socketMode: 0o660 });
    expect(statSync(path).mode & 0o777).toBe(0o660);
    await listener.close();
  });

  it('replaces a stale socket left by a killed process', async () => {
    const path = dir.path('stale.sock');
    const crashed = await startServerProcess(path);
    await crashed.kill();
    expect(statSync(path).isSocket()).toBe(true);
    expect(await probeSocket(path)).toBe(false);
    const listener = await UnixListener.listen(path);
    expect(await probeSocket(path)).toBe(true);
    await listener.close();
  });

  it('refuses to delete a regular file', async () => {
    const path = dir.path('file.sock');
    writeFileSync(path, 'precious');
    const err = await listenError(path);
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(statSync(path).isFile()).toBe(true);
  });

  it('refuses to take over a live socket', async () => {
    const path = dir.path('live.sock');
    const other = createServer();
    await new Promise<void>((r) => other.listen(path, r));
    try {
      const err = await listenError(path);
      expect(err.code).toBe('UNAVAILABLE');
      expect(await probeSocket(path)).toBe(true);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });

  it('leaves the path alone on close when it is no longer our socket', async () => {
    const path = dir.path('replaced.sock');
    const listener = await UnixListener.listen(path);
    const { rmSync } = await import('node:fs');
    rmSync(path);
    writeFileSync(path, 'someone else');
    await listener.close();
    expect(statSync(path).isFile()).toBe(true);
  });

  it('closes even when a peer never reads (its FIN goes unseen): the link is cut after closeTimeout', async () => {
    const path = dir.path('deaf.sock');
    const listener = await UnixListener.listen(path, { closeTimeout: 100 });
    const accepted = new Promise<void>((resolve) =>
      listener.onLink((link) => {
        link.attach({ onFrame: () => {}, onClose: () => {} });
        resolve();
      }),
    );
    const deaf = connect(path);
    deaf.pause(); // never reads, so never sees the end of the stream
    deaf.on('error', () => {});
    const cut = new Promise((resolve) => deaf.once('close', resolve));
    await accepted;
    await listener.close();
    deaf.resume(); // now it can see the reset
    await cut;
    expect(existsSync(path)).toBe(false);
  });
});
