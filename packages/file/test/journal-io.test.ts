/**
 * The journal's fast path: appends and reads on open descriptors, quick passes on a segment that
 * grew, full passes on anything else, cursor saves beside the passes, the one-lstat ownership
 * check, the fsync option, and the record codec the batches are encoded with.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpcError } from '@openclaw-ipc/core';
import { parse as parseUuid, v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeRecords,
  encodeRecord,
  JournalLink,
  journalDir,
  RECORD_HEADER,
  writeRecord,
} from '../src/index.js';
import { tempDir, until } from './helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function dirFor() {
  const { dir, cleanup } = tempDir('oc-journal-io-');
  cleanups.push(cleanup);
  return dir;
}

async function pair(dir: string, options: Parameters<typeof JournalLink.open>[2] = {}) {
  const got: string[] = [];
  const backend = await JournalLink.open(dir, 'backend', options);
  backend.attach({ onFrame: (f) => got.push(String(f)), onClose: () => {} });
  cleanups.push(async () => {
    backend.close();
    await backend.idle();
  });
  const open = async () => {
    const frontend = await JournalLink.open(dir, 'frontend', options);
    frontend.attach({ onFrame: () => {}, onClose: () => {} });
    return frontend;
  };
  return { backend, got, open };
}

describe('journal fast path', () => {
  it('with the poll an hour apart, watch events alone deliver appends to the open segment and a new segment after a restart', async () => {
    const dir = dirFor();
    const { got, open } = await pair(dir, { pollInterval: 3_600_000 });
    let frontend = await open();
    frontend.send('a');
    await until(() => got.length === 1, 5000, 'the first message');
    for (let i = 0; i < 50; i++) frontend.send(`b${i}`);
    await until(() => got.length === 51, 5000, 'appends to the open segment');
    frontend.close();
    await frontend.flush().catch(() => {});
    // A new lock, a new segment: found by the full pass its creation asks for.
    frontend = await open();
    cleanups.push(() => frontend.close());
    frontend.send('c');
    await until(() => got.length === 52, 5000, 'the message in the new segment');
    expect(got).toEqual(['a', ...Array.from({ length: 50 }, (_, i) => `b${i}`), 'c']);
  });

  it('with the poll an hour apart, a writer named with dots is found by the watch alone', async () => {
    const dir = dirFor();
    const { got } = await pair(dir, { pollInterval: 3_600_000 });
    const frontend = await JournalLink.open(dir, 'frontend', {
      name: 'worker.1.lock',
      pollInterval: 3_600_000,
    });
    frontend.attach({ onFrame: () => {}, onClose: () => {} });
    cleanups.push(() => frontend.close());
    frontend.send('dotted');
    await until(() => got.length === 1, 5000, 'the message of the dotted writer');
  });

  it('without fs.watch, the poll alone delivers', async () => {
    const dir = dirFor();
    const { got, open } = await pair(dir, { watch: false, pollInterval: 20 });
    const frontend = await open();
    cleanups.push(() => frontend.close());
    for (let i = 0; i < 10; i++) frontend.send(`m${i}`);
    await until(() => got.length === 10, 5000, 'polled messages');
  });

  it('idle() resolves once the cursor of what was delivered is saved', async () => {
    const dir = dirFor();
    const { backend, got, open } = await pair(dir);
    const frontend = await open();
    cleanups.push(() => frontend.close());
    for (let i = 0; i < 100; i++) frontend.send(`m${i}`);
    await frontend.flush();
    await until(() => got.length === 100, 5000, 'delivery');
    await backend.idle();
    const saved = JSON.parse(
      readFileSync(join(journalDir(dir, 'frontend_to_backend'), 'cursors', 'backend.json'), 'utf8'),
    );
    expect(saved.writers).toEqual(backend.readerPosition);
    expect(saved.writers['w-frontend'].offset).toBeGreaterThan(100 * RECORD_HEADER);
  });

  it('an owner file replaced under the writer (a takeover): the next append is refused with CLOSED and nothing is written', async () => {
    const dir = dirFor();
    const compromised: IpcError[] = [];
    const frontend = await JournalLink.open(dir, 'frontend', { onCompromised: (e) => compromised.push(e) });
    let closedWith: IpcError | undefined;
    frontend.attach({ onFrame: () => {}, onClose: (e) => (closedWith = e) });
    frontend.send('before');
    await frontend.flush();
    const base = journalDir(dir, 'frontend_to_backend');
    const owner = join(base, 'w-frontend.owner');
    // What a taker does: a new owner record, renamed over the old one.
    writeFileSync(`${owner}.new`, readFileSync(owner));
    renameSync(`${owner}.new`, owner);
    const segment = join(base, 'w-frontend', readdirSync(join(base, 'w-frontend'))[0]!);
    const size = readFileSync(segment).length;
    frontend.send('after');
    await until(() => closedWith !== undefined, 5000, 'the link closed');
    expect(closedWith).toMatchObject({ code: 'CLOSED', details: { reason: 'lock-compromised' } });
    expect(readFileSync(segment).length).toBe(size);
  });

  it('fsync: true acknowledges only after fdatasync, and the messages arrive', async () => {
    const dir = dirFor();
    const { got, open } = await pair(dir, { fsync: true });
    const frontend = await open();
    cleanups.push(() => frontend.close());
    for (let i = 0; i < 20; i++) frontend.send(`m${i}`);
    await frontend.flush();
    await until(() => got.length === 20, 5000, 'delivery');
  });
});

describe('journal record codec', () => {
  it('ids and frames round-trip, small bodies and ones long enough for zlib’s CRC alike', () => {
    const frames = [
      '',
      'x',
      'é'.repeat(300),
      new Uint8Array(0),
      new Uint8Array(511).fill(7),
      new Uint8Array(70_000).fill(9),
    ];
    const ids = frames.map(() => uuidv7());
    const all = Buffer.concat(frames.map((f, i) => encodeRecord(ids[i]!, f)));
    const r = decodeRecords(all, 1 << 20);
    expect(r.errors).toEqual([]);
    expect(r.consumed).toBe(all.length);
    expect(r.records.map((x) => x.id)).toEqual(ids);
    expect(r.records.map((x) => x.frame)).toEqual(
      frames.map((f) => (typeof f === 'string' ? f : new Uint8Array(f))),
    );
  });

  it('writeRecord encodes a batch in one buffer with fresh UUIDv7 ids, as encodeRecord does', () => {
    const frames = ['a', new Uint8Array([1, 2, 3]), 'ünï'];
    const out = Buffer.alloc(frames.reduce((n, f) => n + RECORD_HEADER + Buffer.byteLength(f as string), 0));
    let end = 0;
    for (const f of frames) end = writeRecord(out, end, f);
    expect(end).toBe(out.length);
    const r = decodeRecords(out, 1024);
    expect(r.records.map((x) => x.frame)).toEqual(['a', new Uint8Array([1, 2, 3]), 'ünï']);
    const ids = r.records.map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      const bytes = parseUuid(id);
      expect(bytes[6]! >> 4).toBe(7); // version
      expect(bytes[8]! >> 6).toBe(2); // variant
      expect(Math.abs(Buffer.from(bytes).readUIntBE(0, 6) - Date.now())).toBeLessThan(60_000);
    }
    const again = encodeRecord(r.records[0]!.id, 'a');
    expect(again.equals(out.subarray(0, again.length))).toBe(true);
  });

  it('fresh ids stay distinct across refills of the random pool (5000 records)', () => {
    const out = Buffer.alloc(5000 * (RECORD_HEADER + 1));
    let end = 0;
    for (let i = 0; i < 5000; i++) end = writeRecord(out, end, 'x');
    const ids = decodeRecords(out, 1024).records.map((r) => r.id);
    expect(new Set(ids).size).toBe(5000);
  });

  it('small binary frames share 64 KiB slabs without overlapping; a large one has its own buffer', () => {
    const small = Array.from({ length: 2000 }, (_, i) => new Uint8Array(100).fill(i & 0xff));
    const large = new Uint8Array(20_000).fill(1);
    const buf = Buffer.concat([...small, large].map((f) => encodeRecord(uuidv7(), f)));
    const frames = decodeRecords(buf, 1 << 20).records.map((r) => r.frame as Uint8Array);
    for (const f of frames.slice(0, -1)) expect(f.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
    expect(frames.at(-1)!.buffer.byteLength).toBe(20_000);
    frames[0]!.fill(0xee);
    expect(frames.slice(1, -1)).toEqual(small.slice(1));
  });

  it('decoded frames are copies: reusing the read buffer does not change them', () => {
    const buf = Buffer.concat([
      encodeRecord(uuidv7(), new Uint8Array([5, 6])),
      encodeRecord(uuidv7(), 'text'),
    ]);
    const r = decodeRecords(buf, 1024);
    buf.fill(0);
    expect(r.records.map((x) => x.frame)).toEqual([new Uint8Array([5, 6]), 'text']);
  });
});
