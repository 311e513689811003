/**
 * One writer's journal: append-only segment files `<seq>.seg` in `w-<name>/`, written only while
 * holding the writer lock. Every time the lock is taken a new segment starts, so a writer that
 * died mid-write leaves at most one torn record at the end of a segment nobody appends to again
 * (readers skip it once the next segment exists). Records are written whole in one write call
 * with O_APPEND; a batch is acknowledged once write() returned (in the kernel: survives kill -9
 * of the writer; `fsync: true` also survives a power cut).
 *
 * The append itself is a synchronous write(2) on the open segment: a page-cache copy of at most
 * one batch (maxBatchBytes), microseconds, where a thread-pool round trip costs tens to hundreds
 * of them on a busy machine. Opening segments, the lock and fdatasync stay asynchronous.
 */
import nodeFs, { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { IpcError } from '@openclaw-ipc/core';
import {
  APPEND_NEW,
  type ChannelAccess,
  DIR_MODE,
  fsError,
  OWNER_ONLY_ACCESS,
  openNew,
} from './channel-dir.js';
import { acquireJournalLock, type JournalLock, type JournalLockOptions } from './journal-lock.js';

export const SEGMENT_SUFFIX = '.seg';

/** The file name of segment `seq`. */
export const segmentName = (seq: number): string => `${String(seq).padStart(16, '0')}${SEGMENT_SUFFIX}`;

/** Segment numbers present in `dir`, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(err, 'list', dir);
  }
  const out: number[] = [];
  for (const n of names) {
    if (!n.endsWith(SEGMENT_SUFFIX)) continue;
    const seq = Number(n.slice(0, -SEGMENT_SUFFIX.length));
    if (Number.isSafeInteger(seq) && seq >= 0) out.push(seq);
  }
  return out.sort((a, b) => a - b);
}

export interface JournalWriterOptions extends JournalLockOptions {
  /** Bytes after which a new segment starts (so read ones can be deleted). Default 8 MiB. */
  segmentSize?: number;
  /**
   * fdatasync after each batch, before it is acknowledged (and fsync of the folder after each new
   * segment): acknowledged messages then survive a power cut or kernel crash, not only the death
   * of the process. Default false (the kernel writes them back within its dirty-page expiry,
   * about 30 s on Linux).
   */
  fsync?: boolean;
}

export class JournalWriter {
  private handle: fs.FileHandle | undefined;
  private segment = 0;
  private size = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly lock: JournalLock,
    private readonly options: JournalWriterOptions,
    private readonly fileMode: number,
  ) {}

  /**
   * Takes the lock of the writer journal `dir` and starts a new segment (files of the access's
   * mode; JournalLink has made and checked the folders).
   * @throws IpcError TIMEOUT (another live writer has this name), UNAVAILABLE.
   */
  static async open(
    dir: string,
    options: JournalWriterOptions = {},
    access: ChannelAccess = OWNER_ONLY_ACCESS,
  ): Promise<JournalWriter> {
    try {
      await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
    } catch (err) {
      throw fsError(err, 'create', dir);
    }
    const lock = await acquireJournalLock(dir, options, access.fileMode);
    const writer = new JournalWriter(dir, lock, options, access.fileMode);
    try {
      const segments = await listSegments(dir);
      await writer.startSegment((segments.at(-1) ?? 0) + 1);
    } catch (err) {
      await lock.release();
      throw IpcError.from(err, 'UNAVAILABLE');
    }
    return writer;
  }

  /**
   * Appends encoded records in one write; `data` is free for reuse once this returns (before the
   * promise settles). Resolves once they are in the file (and on disk with `fsync`).
   * @throws IpcError CLOSED when the lock is no longer ours (nothing written); UNAVAILABLE.
   */
  async append(data: Uint8Array): Promise<void> {
    if (this.closed || !this.handle) throw new IpcError('CLOSED', 'journal writer closed');
    if (!this.lock.stillOwned()) {
      throw new IpcError('CLOSED', `journal writer lock of ${this.dir} is no longer ours`, {
        details: { reason: 'lock-compromised' },
      });
    }
    const handle = this.handle;
    try {
      let done = 0;
      while (done < data.byteLength) done += nodeFs.writeSync(handle.fd, data, done, data.byteLength - done);
      if (this.options.fsync) await handle.datasync();
    } catch (err) {
      throw fsError(err, 'append to', this.dir);
    }
    this.size += data.byteLength;
    if (this.size >= (this.options.segmentSize ?? 8 * 1024 * 1024)) await this.startSegment(this.segment + 1);
  }

  /** Closes the segment and releases the lock. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
    await this.lock.release();
  }

  private async startSegment(seq: number): Promise<void> {
    const previous = this.handle;
    // A fresh file, appended to; never one left by someone else.
    this.handle = await openNew(join(this.dir, segmentName(seq)), this.fileMode, APPEND_NEW);
    this.segment = seq;
    this.size = 0;
    // fdatasync of a segment does not make its name durable: the folder is synced once per segment.
    if (this.options.fsync) await syncFolder(this.dir);
    await previous?.close();
  }
}

/** fsync(2) of a folder: the entries created in it survive a power cut. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, nodeFs.constants.O_RDONLY | nodeFs.constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
