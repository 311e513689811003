/**
 * Reads every writer journal of one direction with a cursor of its own, saved in
 * `cursors/<reader>.json` (tmp-then-rename) soon after a pass that delivered something. Segments
 * that every registered reader has passed are deleted (compaction).
 *
 * Delivery is exactly once while the reader runs and across a clean close (close() saves the
 * cursor); across a crash of the reader, the records delivered since the last cursor save are
 * delivered again (at least once). A save runs CURSOR_SAVE_DELAY_MS after a pass that moved the
 * cursor, beside the next passes, one at a time, so a pass never waits for it: a crash repeats
 * the records delivered in the last ~10 ms (more while a save is slow).
 *
 * A pass is either full (lists the direction folder and each writer folder: new writers, new
 * segments, sealed ones) or quick (reads on from the open segment of each writer known to be at
 * its last segment, nothing else). The link asks for a quick pass when the only news is that a
 * segment grew, a full one on anything else and on every poll. The bytes are read with
 * synchronous fstat(2) and pread(2) on a descriptor kept open: page-cache copies of at most
 * `readChunk` bytes, where a thread-pool round trip per call costs more than the copy.
 */
import nodeFs, { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS, IpcError } from '@openclaw-ipc/core';
import {
  type ChannelAccess,
  DIR_MODE,
  fsError,
  OWNER_ONLY_ACCESS,
  READ_NOFOLLOW,
  readText,
  replaceFile,
} from './channel-dir.js';
import { decodeRecords, type JournalRecord } from './journal-record.js';
import { listSegments, segmentName } from './journal-writer.js';

/** Where one reader is in one writer's journal. */
export interface WriterCursor {
  segment: number;
  offset: number;
}

export interface JournalReaderOptions {
  /** Largest record body accepted, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Bytes read per writer per pass. Default 4 MiB. */
  readChunk?: number;
  /** Reports damaged or torn records, unreadable files. */
  onError?: (error: IpcError) => void;
}

const WRITER_PREFIX = 'w-';
/**
 * A cursor is saved this long after a pass moves it, covering every pass until then: a save is a
 * create and a rename (~0.5 ms of file-system work), more than the pass itself, and a crash of
 * the reader repeats at most the records of this window (and of the save under way).
 */
const CURSOR_SAVE_DELAY_MS = 10;
/** Reads up to this size reuse one buffer (records are copied out of it when decoded). */
const SCRATCH_BYTES = 64 * 1024;

/** The segment a reader has open for one writer. */
interface OpenSegment {
  segment: number;
  handle: fs.FileHandle;
}

export class JournalReader {
  private cursors: Record<string, WriterCursor> = {};
  private dirty = false;
  /** The last pass was stopped by its deliver callback. */
  private stopped = false;
  /** A cursor moved to a later segment since the last compaction. */
  private advanced = true;
  private readonly cursorPath: string;
  /** Writer folders found by the last full pass, with the last segment each had then. */
  private lastSegment = new Map<string, number>();
  private readonly segments = new Map<string, OpenSegment>();
  private scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private saving: Promise<void> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private compactWriters: string[] = [];
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly name: string,
    private readonly options: JournalReaderOptions,
    private readonly fileMode: number,
  ) {
    this.cursorPath = join(dir, 'cursors', `${name}.json`);
  }

  /** Opens (registers) reader `name` on the direction folder `dir`; its cursor has the access's mode. */
  static async open(
    dir: string,
    name: string,
    options: JournalReaderOptions = {},
    access: ChannelAccess = OWNER_ONLY_ACCESS,
  ): Promise<JournalReader> {
    try {
      await fs.mkdir(join(dir, 'cursors'), { recursive: true, mode: DIR_MODE });
    } catch (err) {
      throw fsError(err, 'create', dir);
    }
    const reader = new JournalReader(dir, name, options, access.fileMode);
    await reader.load();
    await reader.save(true);
    return reader;
  }

  /** The cursor per writer (a copy). */
  get position(): Record<string, WriterCursor> {
    return structuredClone(this.cursors);
  }

  /** The writer folders found by the last full pass. */
  get writers(): string[] {
    return [...this.lastSegment.keys()];
  }

  /**
   * Reads what is new in every writer journal and hands each record to `deliver`, in order per
   * writer; then starts saving the cursor (see settled()) and compacting. `deliver` returns false
   * to stop (the record is not consumed: it is read again next time). `full` false makes a quick
   * pass (see the module comment). Never rejects: failures go to onError.
   */
  async poll(deliver: (record: JournalRecord, writer: string) => boolean, full = true): Promise<number> {
    if (this.closed) return 0;
    let count = 0;
    this.stopped = false;
    let writers: string[];
    if (full) {
      try {
        writers = (await fs.readdir(this.dir, { withFileTypes: true }))
          .filter((e) => e.isDirectory() && e.name.startsWith(WRITER_PREFIX))
          .map((e) => e.name);
      } catch (err) {
        this.report(fsError(err, 'list', this.dir));
        return 0;
      }
    } else writers = this.writers;
    for (const writer of writers) {
      if (this.stopped || this.closed) break;
      try {
        count +=
          full || !this.atLastSegment(writer)
            ? await this.pollWriter(writer, deliver)
            : await this.readSegment(writer, this.cursors[writer]!, deliver).then((r) => r.delivered);
      } catch (err) {
        this.report(IpcError.from(err, 'UNAVAILABLE'));
      }
    }
    if (full)
      for (const gone of [...this.lastSegment.keys()].filter((w) => !writers.includes(w))) {
        this.lastSegment.delete(gone);
        await this.closeSegment(gone);
      }
    if (this.dirty) this.saveSoon(writers);
    return count;
  }

  /** Resolves once the cursor of every pass so far is saved (and compaction is done). */
  async settled(): Promise<void> {
    if (this.saveTimer) this.startSave();
    while (this.saving) await this.saving;
  }

  /** Closes the open segments once the cursor is saved. Call when no pass runs any more. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    for (const writer of [...this.segments.keys()]) await this.closeSegment(writer);
  }

  private atLastSegment(writer: string): boolean {
    const cursor = this.cursors[writer];
    return cursor !== undefined && this.lastSegment.get(writer) === cursor.segment;
  }

  /**
   * Saves the cursor CURSOR_SAVE_DELAY_MS after a pass that moved it, beside the passes, one save
   * at a time; the passes meanwhile are covered by the same save or the next one.
   */
  private saveSoon(writers: string[]): void {
    this.compactWriters = writers;
    if (this.saving || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.startSave(), CURSOR_SAVE_DELAY_MS);
  }

  private startSave(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.saving) return;
    this.saving = (async () => {
      try {
        await this.save();
        // Only a move to a later segment can free one.
        if (this.advanced) {
          this.advanced = false;
          await this.compact(this.compactWriters);
        }
      } catch (err) {
        this.report(IpcError.from(err, 'UNAVAILABLE'));
      }
    })().finally(() => {
      this.saving = undefined;
      if (this.dirty) this.saveSoon(this.compactWriters);
    });
  }

  private report(error: IpcError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // observers must not stop the reader
    }
  }

  private async pollWriter(
    writer: string,
    deliver: (r: JournalRecord, writer: string) => boolean,
  ): Promise<number> {
    const wdir = join(this.dir, writer);
    let count = 0;
    for (;;) {
      const segments = await listSegments(wdir);
      // Known even while empty: the link watches the folders of the writers listed here.
      this.lastSegment.set(writer, segments.at(-1) ?? 0);
      if (segments.length === 0) return count;
      let cursor = this.cursors[writer];
      if (!cursor || !segments.includes(cursor.segment)) {
        // New writer, or its segment is gone: start at the first segment after the cursor.
        const next = segments.find((s) => !cursor || s > cursor.segment);
        if (next === undefined) return count;
        cursor = this.cursors[writer] = { segment: next, offset: 0 };
        this.dirty = true;
      }
      // Learn whether a later segment exists before reading: the writer finished this one first.
      const sealed = segments.at(-1)! > cursor.segment;
      const { delivered, leftover } = await this.readSegment(writer, cursor, deliver);
      count += delivered;
      if (!sealed || this.stopped) return count;
      if (leftover > 0) {
        this.report(
          new IpcError(
            'PROTOCOL',
            `journal ${writer}: ${leftover} bytes of a torn record ignored at the end of segment ${cursor.segment} (the writer stopped mid-write)`,
            {
              details: { writer, segment: cursor.segment, offset: cursor.offset, length: leftover },
            },
          ),
        );
      }
      await this.closeSegment(writer);
      const following = segments.find((s) => s > cursor.segment)!;
      this.cursors[writer] = { segment: following, offset: 0 };
      this.dirty = true;
      this.advanced = true;
    }
  }

  /** The open descriptor of the cursor's segment, opened if need be; undefined when it is gone. */
  private async segmentFd(writer: string, segment: number): Promise<number | undefined> {
    const open = this.segments.get(writer);
    if (open?.segment === segment) return open.handle.fd;
    await this.closeSegment(writer);
    const path = join(this.dir, writer, segmentName(segment));
    try {
      const handle = await fs.open(path, READ_NOFOLLOW);
      this.segments.set(writer, { segment, handle });
      return handle.fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError(err, 'open', path);
    }
  }

  private async closeSegment(writer: string): Promise<void> {
    const open = this.segments.get(writer);
    if (!open) return;
    this.segments.delete(writer);
    await open.handle.close().catch(() => {});
  }

  /** Reads the segment to its current end from the cursor; returns the unconsumed tail size. */
  private async readSegment(
    writer: string,
    cursor: WriterCursor,
    deliver: (r: JournalRecord, writer: string) => boolean,
  ): Promise<{ delivered: number; leftover: number }> {
    const maxBody = this.options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    const chunk = Math.max(this.options.readChunk ?? 4 * 1024 * 1024, maxBody + 64);
    const fd = await this.segmentFd(writer, cursor.segment);
    if (fd === undefined) return { delivered: 0, leftover: 0 };
    let delivered = 0;
    for (;;) {
      let size: number;
      let available: number;
      let length: number;
      let bytesRead: number;
      let buf: Buffer;
      try {
        size = nodeFs.fstatSync(fd).size;
        available = size - cursor.offset;
        if (available <= 0) return { delivered, leftover: 0 };
        length = Math.min(available, chunk);
        buf = length <= this.scratch.byteLength ? this.scratch : Buffer.allocUnsafe(length);
        bytesRead = nodeFs.readSync(fd, buf, 0, length, cursor.offset);
      } catch (err) {
        throw fsError(err, 'read', join(this.dir, writer, segmentName(cursor.segment)));
      }
      const result = decodeRecords(buf.subarray(0, bytesRead), maxBody, cursor.offset);
      for (const e of result.errors)
        this.report(
          new IpcError('PROTOCOL', `journal ${writer} segment ${cursor.segment}: ${e.message}`, {
            details: e.details,
          }),
        );
      let start = 0;
      for (const record of result.records) {
        if (!deliver(record, writer)) {
          if (start > 0) this.dirty = true;
          cursor.offset += start;
          this.stopped = true;
          return { delivered, leftover: 0 };
        }
        start = record.end;
        delivered++;
      }
      if (result.consumed > 0) {
        cursor.offset += result.consumed;
        this.dirty = true;
      }
      if (result.consumed === 0 || bytesRead < length || length === available)
        return { delivered, leftover: size - cursor.offset };
    }
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      text = await readText(this.cursorPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(err, 'read', this.cursorPath);
    }
    try {
      const value = JSON.parse(text) as { writers?: Record<string, WriterCursor> };
      const out: Record<string, WriterCursor> = {};
      for (const [w, c] of Object.entries(value.writers ?? {})) {
        if (Number.isSafeInteger(c?.segment) && Number.isSafeInteger(c?.offset) && c.offset >= 0)
          out[w] = { segment: c.segment, offset: c.offset };
      }
      this.cursors = out;
    } catch (cause) {
      this.report(
        new IpcError(
          'SERIALIZATION',
          `journal cursor ${this.cursorPath} is unreadable; reading from the start`,
          { cause },
        ),
      );
    }
  }

  private async save(force = false): Promise<void> {
    if (!this.dirty && !force) return;
    this.dirty = false;
    const text = JSON.stringify({ writers: this.cursors });
    await replaceFile(this.cursorPath, `${this.cursorPath}.tmp`, text, this.fileMode);
  }

  /** Deletes segments every registered reader has passed. */
  private async compact(writers: string[]): Promise<void> {
    const cursorsDir = join(this.dir, 'cursors');
    const all: Array<Record<string, WriterCursor>> = [];
    for (const name of await fs.readdir(cursorsDir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const value = JSON.parse(await readText(join(cursorsDir, name))) as {
          writers?: Record<string, WriterCursor>;
        };
        all.push(value.writers ?? {});
      } catch {
        return; // a reader's cursor we cannot read: keep everything
      }
    }
    for (const writer of writers) {
      let min = Number.POSITIVE_INFINITY;
      for (const c of all) min = Math.min(min, c[writer]?.segment ?? 0);
      if (!Number.isFinite(min) || min <= 1) continue;
      const wdir = join(this.dir, writer);
      for (const seq of await listSegments(wdir)) {
        if (seq >= min) break;
        await fs.unlink(join(wdir, segmentName(seq))).catch(() => {});
      }
    }
  }
}
