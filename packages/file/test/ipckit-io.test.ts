/**
 * The ipckit link's message path: woken by the inbox's rename alone, small files read and written
 * synchronously, and what that must not do (hang on a FIFO planted in place of the inbox).
 */
import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { IpcError } from '@openclaw-ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { IpckitLink, toIpckit } from '../src/index.js';
import { tempDir, until } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function dirFor() {
  const { dir, cleanup } = tempDir('oc-ipckit-io-');
  cleanups.push(cleanup);
  return dir;
}

const event = (i: number) =>
  JSON.stringify(toIpckit({ id: crypto.randomUUID(), payload: { type: 'event', event_type: 'e', data: i } }));

describe('ipckit link message path', () => {
  it('with the poll an hour apart, the rename of the inbox alone wakes the reader, write after write', async () => {
    const dir = dirFor();
    const got: string[] = [];
    const backend = await IpckitLink.open(dir, 'backend', { pollInterval: 3_600_000 });
    backend.attach({ onFrame: (f) => got.push(String(f)), onClose: () => {} });
    cleanups.push(() => backend.close());
    const frontend = await IpckitLink.open(dir, 'frontend', { pollInterval: 3_600_000 });
    frontend.attach({ onFrame: () => {}, onClose: () => {} });
    cleanups.push(() => frontend.close());
    for (let i = 0; i < 20; i++) {
      frontend.send(event(i));
      await until(() => got.length === i + 1, 5000, `message ${i}`);
    }
  });

  it('a FIFO planted in place of the inbox is reported, never waited on', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const backend = await IpckitLink.open(dir, 'backend', {
      pollInterval: 20,
      onError: (e) => errors.push(e),
    });
    backend.attach({ onFrame: () => {}, onClose: () => {} });
    cleanups.push(() => backend.close());
    const inbox = join(dir, 'frontend_to_backend.json');
    unlinkSync(inbox);
    execFileSync('mkfifo', ['-m', '600', inbox]);
    await until(() => errors.length > 0, 5000, 'the FIFO reported');
    expect(errors[0]).toMatchObject({ code: 'UNAVAILABLE' });
    expect(errors[0]!.message).toMatch(/frontend_to_backend\.json/);
    // Neither end hangs: a writer replaces the FIFO (reporting it) and the reader reads its message.
    const got: string[] = [];
    backend.close();
    const reader = await IpckitLink.open(dir, 'backend', { pollInterval: 20 });
    reader.attach({ onFrame: (f) => got.push(String(f)), onClose: () => {} });
    cleanups.push(() => reader.close());
    const writerErrors: IpcError[] = [];
    const frontend = await IpckitLink.open(dir, 'frontend', { onError: (e) => writerErrors.push(e) });
    frontend.attach({ onFrame: () => {}, onClose: () => {} });
    cleanups.push(() => frontend.close());
    frontend.send(event(1));
    await until(() => got.length === 1, 5000, 'the message written over the FIFO');
    expect(writerErrors.map((e) => e.message).join()).toMatch(/unreadable and is replaced/);
  });
});
