/** Bad input of every kind: a clear IpcError, no crash, every other valid message delivered. */

import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type IpcError, request } from '@openclaw-ipc/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acquireJournalLock,
  FileChannel,
  IpckitLink,
  ipckitDialect,
  JournalLink,
  journalDir,
  serializeChannelFile,
  toIpckit,
} from '../src/index.js';
import { spawnTs, tempDir, until } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function dirFor() {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

/** A PID that certainly belongs to no process: one that just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

function collect(link: IpckitLink | JournalLink): unknown[] {
  const frames: unknown[] = [];
  link.attach({ onFrame: (f) => frames.push(typeof f === 'string' ? f : Buffer.from(f)), onClose: () => {} });
  cleanups.push(() => link.close());
  return frames;
}

describe('ipckit mode, bad input', () => {
  it('a corrupt inbox is reported (SERIALIZATION) and valid messages after it are delivered', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const link = await IpckitLink.open(dir, 'backend', { onError: (e) => errors.push(e) });
    const frames = collect(link);
    writeFileSync(join(dir, 'frontend_to_backend.json'), '[{"id": "a", "timestamp": 1, "ty');
    await until(() => errors.length > 0, 5000, 'error');
    expect(errors[0]!.code).toBe('SERIALIZATION');
    const good = toIpckit(request('ping', {}), 2);
    writeFileSync(join(dir, 'frontend_to_backend.json'), serializeChannelFile([good]));
    await until(() => frames.length === 1, 5000, 'delivery');
    expect(ipckitDialect.decode(frames[0] as string)).toEqual({
      id: good.id,
      payload: { type: 'request', method: 'ping', params: {} },
    });
  });

  it('a message of the wrong shape is reported (PROTOCOL); the others are delivered', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const link = await IpckitLink.open(dir, 'backend', { onError: (e) => errors.push(e) });
    const frames = collect(link);
    const a = toIpckit(request('a', 1), 10);
    const b = toIpckit(request('b', 2), 10); // same millisecond: ipckit would repeat or skip one
    const text = JSON.stringify([a, { id: 'x', timestamp: 'soon', type: 'request' }, 42, b]);
    writeFileSync(join(dir, 'frontend_to_backend.json'), text);
    await until(() => frames.length === 2 && errors.length === 2, 5000, 'delivery');
    expect(errors.map((e) => e.code)).toEqual(['PROTOCOL', 'PROTOCOL']);
    // Rewritten with one more message: the two earlier ones are not delivered again.
    const c = toIpckit(request('c', 3), 10);
    writeFileSync(join(dir, 'frontend_to_backend.json'), JSON.stringify([a, b, c]));
    await until(() => frames.length === 3, 5000, 'third');
    await new Promise((r) => setTimeout(r, 150));
    expect(frames.map((f) => JSON.parse(f as string).method)).toEqual(['a', 'b', 'c']);
  });

  it('a stale lock left by a dead PID is taken over at once and reported', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const server = await FileChannel.backend(dir, { handlers: { echo: (p: unknown) => p } });
    cleanups.push(() => server.close());
    const pid = deadPid();
    writeFileSync(join(dir, 'frontend_to_backend.lock'), `${pid}\n`);
    const client = await FileChannel.frontend(dir, {
      onError: (e) => errors.push(e),
      client: { reconnect: false },
    });
    cleanups.push(() => client.close());
    await expect(client.request('echo', 5)).resolves.toBe(5);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('PROTOCOL');
    expect(errors[0]!.details).toMatchObject({ pid, reason: 'dead-pid' });
  });

  it('a lock held by a live writer delays sends but loses nothing', async () => {
    const dir = dirFor();
    const server = await FileChannel.backend(dir, { handlers: { echo: (p: unknown) => p } });
    cleanups.push(() => server.close());
    const client = await FileChannel.frontend(dir, { client: { reconnect: false } });
    cleanups.push(() => client.close());
    await client.request('echo', 0);
    const lock = join(dir, 'frontend_to_backend.lock');
    // The client releases its own lock after its rename, which the response can overtake.
    await until(() => !existsSync(lock), 5000, 'the client released its lock');
    writeFileSync(lock, `${process.pid}\n`); // "held" by a running process
    const pending = Promise.all([1, 2, 3].map((i) => client.request('echo', i)));
    await new Promise((r) => setTimeout(r, 100));
    const { unlinkSync } = await import('node:fs');
    unlinkSync(lock);
    await expect(pending).resolves.toEqual([1, 2, 3]);
  });
});

describe('both modes, a directory without permission', () => {
  it.each(['ipckit', 'journal'])('%s: UNAVAILABLE naming the directory, no crash', async (mode) => {
    const dir = dirFor();
    mkdirSync(dir, { mode: 0o700 });
    if (process.getuid?.() === 0) {
      // root passes every permission check: ask an unprivileged user (nobody) to open it.
      const child = spawnTs('child.ts', ['open', dir, mode], { uid: 65534, gid: 65534 });
      const lines: string[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
      await new Promise((r) => child.on('exit', r));
      expect(lines[0]).toMatch(/^UNAVAILABLE no permission to .*chan/);
    } else {
      chmodSync(dir, 0);
      cleanups.push(() => chmodSync(dir, 0o700));
      const err = await FileChannel.backend(dir, { mode: mode as 'ipckit' }).catch((e) => e);
      expect(err.code).toBe('UNAVAILABLE');
    }
  });
});

describe('journal mode, bad input', () => {
  it('a torn record (writer died mid-write) is skipped and reported; everything else is delivered', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const w1 = await JournalLink.open(dir, 'frontend', { name: 'w' });
    for (let i = 0; i < 5; i++) w1.send(`m${i}`);
    await w1.flush();
    w1.close(); // releases the lock: a clean stop
    await w1.flush().catch(() => {});
    // Simulate a writer killed in the middle of a record: half a header at the end of the segment.
    const wdir = join(journalDir(dir, 'frontend_to_backend'), 'w-w');
    const seg = join(
      wdir,
      readdirSync(wdir)
        .filter((n) => n.endsWith('.seg'))
        .sort()
        .at(-1)!,
    );
    appendFileSync(seg, Buffer.from('OCJ1\x10\x00\x00\x00\x00', 'latin1'));
    const w2 = await JournalLink.open(dir, 'frontend', { name: 'w' });
    cleanups.push(() => w2.close());
    w2.send('after');
    await w2.flush();
    const reader = await JournalLink.open(dir, 'backend', { onError: (e) => errors.push(e) });
    const frames = collect(reader);
    await until(() => frames.length === 6, 5000, 'all six');
    expect(frames).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'after']);
    await until(() => errors.length === 1, 5000, 'torn report');
    expect(errors[0]!.code).toBe('PROTOCOL');
    expect(errors[0]!.message).toMatch(/torn record/);
  });

  it('damaged bytes in the middle of a segment: that record ignored, the others delivered', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const w = await JournalLink.open(dir, 'frontend');
    cleanups.push(() => w.close());
    for (let i = 0; i < 3; i++) w.send(`rec-${i}`);
    await w.flush();
    const wdir = join(journalDir(dir, 'frontend_to_backend'), 'w-frontend');
    const seg = join(wdir, readdirSync(wdir).find((n) => n.endsWith('.seg'))!);
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(seg);
    const second = bytes.indexOf('rec-1');
    bytes[second + 2] ^= 0xff;
    writeFileSync(seg, bytes);
    w.send('rec-3');
    await w.flush();
    const reader = await JournalLink.open(dir, 'backend', { onError: (e) => errors.push(e) });
    const frames = collect(reader);
    await until(() => frames.length === 3, 5000, 'three');
    expect(frames).toEqual(['rec-0', 'rec-2', 'rec-3']);
    expect(errors.map((e) => e.code)).toEqual(['PROTOCOL']);
  });

  it('a stale writer lock from a dead PID: taken over by a single winner among racing processes', async () => {
    const dir = dirFor();
    const target = join(dir, 'contested');
    mkdirSync(dir, { recursive: true });
    // Leave a lock behind as a killed writer would.
    const victim = spawnTs('child.ts', ['lock', target, '60000', '5000']);
    const vlines: string[] = [];
    createInterface({ input: victim.stdout! }).on('line', (l) => vlines.push(l));
    await until(() => vlines.includes('won'), 20_000, 'victim holds the lock');
    victim.kill('SIGKILL');
    await new Promise((r) => victim.on('exit', r));
    expect(statSync(`${target}.lock`).isDirectory()).toBe(true);
    const racers = Array.from({ length: 4 }, () => {
      // A dead owner's lock becomes takeable 2.5 s after its last refresh: wait longer than that.
      const p = spawnTs('child.ts', ['lock', target, '3000', '6000']);
      const lines: string[] = [];
      createInterface({ input: p.stdout! }).on('line', (l) => lines.push(l));
      return { lines, exited: new Promise((r) => p.on('exit', r)) };
    });
    await Promise.all(racers.map((r) => r.exited));
    // Racers start at different times on a loaded machine, so a late one may legitimately win
    // after the first winner released, and the process that removed the stale lock may lose the
    // fresh one to another. What must hold: exactly one process removed the stale lock, and no two
    // processes ever held the lock at the same time.
    const outcomes = racers.map((r) => r.lines.find((l) => l === 'won' || l === 'lost'));
    expect(outcomes.every((o) => o !== undefined)).toBe(true);
    expect(racers.flatMap((r) => r.lines).filter((l) => l === 'took-over')).toHaveLength(1);
    const held = racers
      .map((r) => r.lines.find((l) => l.startsWith('held ')))
      .filter((l): l is string => l !== undefined)
      .map((l) => {
        const [, from, until] = l.split(' ');
        return { from: Number(from), until: Number(until) };
      });
    expect(held.length).toBe(outcomes.filter((o) => o === 'won').length);
    expect(held.length).toBeGreaterThanOrEqual(1);
    held.sort((x, y) => x.from - y.from);
    for (let i = 1; i < held.length; i++) expect(held[i]!.from).toBeGreaterThanOrEqual(held[i - 1]!.until);
  }, 60_000);

  it('a compromised writer lock is reported as an IpcError (CLOSED) and closes the link, no crash', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const link = await JournalLink.open(dir, 'frontend', { onCompromised: (e) => errors.push(e) });
    let closedWith: IpcError | undefined;
    link.attach({ onFrame: () => {}, onClose: (e) => (closedWith = e) });
    const { rmSync } = await import('node:fs');
    rmSync(`${join(journalDir(dir, 'frontend_to_backend'), 'w-frontend')}.lock`, { recursive: true });
    await until(() => closedWith !== undefined, 10_000, 'compromise noticed');
    expect(closedWith!.code).toBe('CLOSED');
    expect(closedWith!.details).toMatchObject({ reason: 'lock-compromised' });
    expect(errors).toHaveLength(1);
    expect(() => link.send('x')).toThrow(/closed/);
  });

  it('a writer lock held by a live writer: TIMEOUT, not a second writer', async () => {
    const dir = dirFor();
    mkdirSync(dir, { recursive: true });
    const lock = await acquireJournalLock(join(dir, 'x'), {});
    cleanups.push(() => lock.release());
    const err = await acquireJournalLock(join(dir, 'x'), { acquireTimeout: 200 }).catch((e) => e);
    expect(err.code).toBe('TIMEOUT');
  });

  it('undecodable messages from one writer: reported, the backend keeps serving the others', async () => {
    const dir = dirFor();
    const errors: IpcError[] = [];
    const server = await FileChannel.backend(dir, {
      mode: 'journal',
      onError: (e) => errors.push(e),
      handlers: { echo: (p: unknown) => p },
    });
    cleanups.push(() => server.close());
    const rogue = await JournalLink.open(dir, 'frontend', { name: 'rogue' });
    cleanups.push(() => rogue.close());
    rogue.send(new Uint8Array([0xc1, 0xff, 0x00])); // not MessagePack
    rogue.send('{"not": "a message"}');
    await rogue.flush();
    const client = await FileChannel.frontend(dir, {
      mode: 'journal',
      name: 'good',
      client: { reconnect: false },
    });
    cleanups.push(() => client.close());
    await expect(client.request('echo', 'still here')).resolves.toBe('still here');
    await until(() => errors.length >= 2, 5000, 'both reported');
    expect(errors.every((e) => ['PROTOCOL', 'SERIALIZATION'].includes(e.code))).toBe(true);
  });

  it('compaction: segments every reader has passed are deleted, not before', async () => {
    const dir = dirFor();
    const slow = await JournalLink.open(dir, 'backend', { name: 'slow' }); // registered, never attached
    cleanups.push(() => slow.close());
    const w = await JournalLink.open(dir, 'frontend', { segmentSize: 256 });
    cleanups.push(() => w.close());
    const reader = await JournalLink.open(dir, 'backend', { name: 'fast' });
    const frames = collect(reader);
    for (let i = 0; i < 40; i++) {
      w.send(`payload-${i}-${'x'.repeat(40)}`);
      await w.flush();
    }
    await until(() => frames.length === 40, 5000, 'fast reader');
    const wdir = join(journalDir(dir, 'frontend_to_backend'), 'w-frontend');
    const segs = () => readdirSync(wdir).filter((n) => n.endsWith('.seg')).length;
    const before = segs();
    expect(before).toBeGreaterThan(5);
    const slowFrames = collect(slow);
    await until(() => slowFrames.length === 40, 5000, 'slow reader');
    // Once the slow reader has passed them too, all but the segments in use are deleted.
    await until(() => segs() <= 2, 5000, 'compaction');
    expect(segs()).toBeLessThan(before);
  });
});
