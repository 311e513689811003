import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { event, type IpcError, RemoteError } from '@openclaw-ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FileChannel, fileTransport, ipckitDialect, openFileLink } from '../src/index.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function pair(mode: 'ipckit' | 'journal') {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const errors: IpcError[] = [];
  const server = await FileChannel.backend(dir, { mode, onError: (e) => errors.push(e) });
  const client = await FileChannel.frontend(dir, { mode, client: { reconnect: false } });
  cleanups.push(
    () => server.close(),
    () => client.close(),
  );
  return { dir, server, client, errors };
}

describe.each(['ipckit', 'journal'] as const)('file channel, %s mode, one process', (mode) => {
  it('answers requests, errors and events', async () => {
    const { server, client } = await pair(mode);
    server.handle('echo', (p) => p);
    server.handle('fail', () => {
      throw new Error('nope');
    });
    await expect(client.request('echo', { a: 1 })).resolves.toEqual({ a: 1 });
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request('echo', i)));
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const err = await client.request('fail').catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toBe('nope');
    const got: unknown[] = [];
    client.on('tick', (d) => got.push(d));
    await client.request('echo', 0); // the server has seen the client's link by now
    server.emit('tick', { n: 1 });
    server.emit('tick', { n: 2 });
    await expect.poll(() => got, { timeout: 5000 }).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('once client.close() and server.close() resolve, the folder can be removed and nothing comes back', async () => {
    for (let round = 0; round < 3; round++) {
      const base = mkdtempSync(join(tmpdir(), 'oc-file-close-'));
      const dir = join(base, 'chan');
      const server = await FileChannel.backend(dir, { mode });
      server.handle('echo', (p) => p);
      const client = await FileChannel.frontend(dir, { mode, client: { reconnect: false } });
      await Promise.all(Array.from({ length: 20 }, (_, i) => client.request('echo', i)));
      // Requests still in flight at the close: the reader's pass and the writer are busy.
      const late = Array.from({ length: 5 }, (_, i) => client.request('echo', i).catch((e) => e));
      server.emit('tick', round);
      await server.close();
      await client.close();
      // Asynchronous, as a user's cleanup would be: it interleaves with anything still running.
      await rm(base, { recursive: true });
      await new Promise((r) => setTimeout(r, 150));
      expect(existsSync(base)).toBe(false);
      for (const e of await Promise.all(late)) expect((e as IpcError).code).toBe('CLOSED');
    }
  });

  if (mode === 'journal')
    it('client.close() resolves once the cursor of what was delivered is saved', async () => {
      const { dir, server, client } = await pair(mode);
      server.handle('echo', (p) => p);
      await client.request('echo', 0);
      const closed = new Promise<void>((resolve) =>
        client.on('tick', (n) => {
          // Closed in the pass that delivered the last event: its cursor save is still to come.
          if (n === 99) void client.close().then(resolve);
        }),
      );
      for (let n = 0; n < 100; n++) server.emit('tick', n);
      await closed;
      const journal = join(dir, 'journal', 'backend_to_frontend');
      const saved = JSON.parse(readFileSync(join(journal, 'cursors', 'frontend.json'), 'utf8'));
      const cursor = saved.writers['w-backend'];
      const segment = join(journal, 'w-backend', `${String(cursor.segment).padStart(16, '0')}.seg`);
      expect(cursor.offset).toBe(statSync(segment).size);
    });

  it('creates the directory 0700 and its files 0600', async () => {
    const { dir, client, server } = await pair(mode);
    server.handle('echo', (p) => p);
    await client.request('echo', 1);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files =
      mode === 'ipckit'
        ? ['backend_to_frontend.json', 'frontend_to_backend.json', '.channel_info']
        : [
            'journal/frontend_to_backend/w-frontend/0000000000000001.seg',
            'journal/backend_to_frontend/cursors/frontend.json',
          ];
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
  });
});

describe('no message lost by the format when both ends are ours', () => {
  it.each(['ipckit', 'journal'] as const)(
    '%s mode: a burst of 1500 events arrives whole and in order',
    async (mode) => {
      const { server, client } = await pair(mode);
      const got: number[] = [];
      server.on('n', (d) => got.push((d as { i: number }).i));
      server.handle('echo', (p) => p);
      await client.request('echo', 0);
      for (let i = 0; i < 1500; i++) await client.notify('n', { i });
      await expect.poll(() => got.length, { timeout: 15_000 }).toBe(1500);
      expect(got).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    },
  );

  it.each(['ipckit', 'journal'] as const)(
    '%s mode: messages written before attach are held, not lost',
    async (mode) => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const reader = await openFileLink(dir, 'backend', { mode });
      const writer = await openFileLink(dir, 'frontend', { mode });
      cleanups.push(
        () => reader.close(),
        () => writer.close(),
      );
      writer.attach({ onFrame: () => {}, onClose: () => {} });
      const frames = Array.from({ length: 5 }, (_, i) => ipckitDialect.encode(event('e', { i })));
      for (const f of frames) writer.send(f);
      await writer.flush();
      await new Promise((r) => setTimeout(r, 250)); // several poll periods
      const got: unknown[] = [];
      reader.attach({ onFrame: (f) => got.push(ipckitDialect.decode(f)), onClose: () => {} });
      await expect.poll(() => got.length, { timeout: 5000 }).toBe(5);
      expect(got.map((m) => (m as { payload: { data: unknown } }).payload.data)).toEqual(
        [0, 1, 2, 3, 4].map((i) => ({ i })),
      );
    },
  );
});

describe('file transport URLs', () => {
  it('listen and connect by file:// URL in both modes', async () => {
    for (const mode of ['ipckit', 'journal']) {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const server = await fileTransport.listen(new URL(`file://${dir}?role=backend&mode=${mode}`), {
        handlers: { add: (p: { a: number; b: number }) => p.a + p.b },
      });
      const client = await fileTransport.connect(new URL(`file://${dir}?role=frontend&mode=${mode}`), {
        reconnect: false,
      });
      cleanups.push(
        () => server.close(),
        () => client.close(),
      );
      await expect(client.request('add', { a: 2, b: 3 })).resolves.toBe(5);
    }
  });

  it("connect(server.address) joins the server's channel, in both modes, in a folder whose name needs escaping", async () => {
    for (const mode of ['ipckit', 'journal']) {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const url = pathToFileURL(join(dir, 'a chan#1'));
      url.searchParams.set('mode', mode);
      const server = await fileTransport.listen(url, {
        handlers: { add: (p: { a: number; b: number }) => p.a + p.b },
      });
      expect(server.address).toContain('role=frontend');
      expect(statSync(join(dir, 'a chan#1')).isDirectory()).toBe(true);
      const client = await fileTransport.connect(new URL(server.address!), { reconnect: false });
      cleanups.push(
        () => server.close(),
        () => client.close(),
      );
      await expect(client.request('add', { a: 2, b: 3 })).resolves.toBe(5);
    }
  });

  it('writes ipckit files exactly as ipckit names and shapes them', async () => {
    const { dir, server, client } = await pair('ipckit');
    server.handle('echo', (p) => p);
    await client.request('echo', { x: 1 });
    const info = JSON.parse(readFileSync(join(dir, '.channel_info'), 'utf8'));
    expect(Object.keys(info).sort()).toEqual(['created', 'protocol', 'version']);
    expect(info.protocol).toBe('file-ipc');
    const sent = JSON.parse(readFileSync(join(dir, 'frontend_to_backend.json'), 'utf8'));
    expect(Object.keys(sent[0])).toEqual(['id', 'timestamp', 'type', 'method', 'payload']);
    const answered = JSON.parse(readFileSync(join(dir, 'backend_to_frontend.json'), 'utf8'));
    expect(Object.keys(answered[0])).toEqual(['id', 'timestamp', 'type', 'reply_to', 'payload']);
    expect(answered[0].reply_to).toBe(sent[0].id);
  });
});

describe('FileChannel options', () => {
  it('an unknown option is INVALID_ARGUMENT naming it and the known ones, before any file is made', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const chan = join(dir, 'chan');
    const err = await FileChannel.backend(chan, { maxPayload: 10 } as never).catch((e) => e);
    expect(err).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { option: 'maxPayload', suggestion: 'maxMessageSize' },
    });
    expect(err.details.known).toEqual(
      expect.arrayContaining(['mode', 'handlers', 'server', 'maxMessageSize']),
    );
    expect(await FileChannel.frontend(chan, { pollIntervall: 5 } as never).catch((e) => e)).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { option: 'pollIntervall', suggestion: 'pollInterval' },
    });
    expect(() => statSync(chan)).toThrow();
  });
});
