/**
 * The journal link (opt-in, ours): each end appends to its own writer journal of its outbox
 * direction and reads every writer journal of its inbox direction with a cursor of its own. No
 * message is dropped by the format: nothing is overwritten, segments are deleted only once every
 * registered reader has passed them.
 */

import { join } from 'node:path';
import { DEFAULT_LIMITS, type Frame, IpcError, type Link, type LinkHandler, sleep } from '@openclaw-ipc/core';
import { channelAccess, ensureFolder, prepareChannelDir } from './channel-dir.js';
import { type ChannelRole, directions, journalDir } from './channel-files.js';
import type { FileLinkCommonOptions } from './ipckit-link.js';
import { JournalReader } from './journal-reader.js';
import { RECORD_HEADER, writeRecord } from './journal-record.js';
import { JournalWriter, type JournalWriterOptions, SEGMENT_SUFFIX } from './journal-writer.js';
import { admitOutgoing } from './outgoing-limits.js';
import { Rescanner } from './wake.js';

export interface JournalLinkOptions extends FileLinkCommonOptions, JournalWriterOptions {
  /**
   * This end's name: its writer journal is `w-<name>` and its reader cursor `<name>`. Two live
   * ends may not share a name in one direction. Default: the role ('backend' or 'frontend').
   */
  name?: string;
  /** Bytes written per batch at most. Default 1 MiB. */
  maxBatchBytes?: number;
}

const WRITE_RETRY_MS = 20;
/** Batches up to this size are encoded into one buffer kept by the link. */
const SCRATCH_BYTES = 64 * 1024;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export class JournalLink implements Link {
  readonly transport = 'file';
  readonly remoteAddress: string;
  private handler: LinkHandler | undefined;
  private closed = false;
  private closeError: IpcError | undefined;
  private readonly rescanner: Rescanner;
  /** Frames not written yet, with their body sizes. */
  private queue: Array<{ frame: Frame; size: number }> = [];
  private scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private queuedBytes = 0;
  private writing = false;
  /** After close(): settles once the reader and the writer are closed (whenClosed). */
  private finished: Promise<void> | undefined;
  /** Called when a write loop still running at close() has ended. */
  private writeLoopEnded: (() => void) | undefined;
  private waiters: Array<{ resolve: () => void; reject: (e: IpcError) => void; below: number }> = [];
  private readonly maxMessageSize: number;
  private readonly highWaterMark: number;
  private readonly maxQueuedBytes: number;

  private constructor(
    readonly dir: string,
    readonly role: ChannelRole,
    private readonly writer: JournalWriter,
    private readonly reader: JournalReader,
    private readonly options: JournalLinkOptions,
  ) {
    this.remoteAddress = `file://${dir}?role=${role === 'backend' ? 'frontend' : 'backend'}&mode=journal`;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes;
    this.rescanner = new Rescanner((full) => this.scan(full), {
      ...options,
      pollInterval: options.pollInterval ?? 50,
    });
  }

  /**
   * Opens the `role` end of the journal channel in `dir`.
   * @throws IpcError INVALID_ARGUMENT (bad name or access option), AUTH (a folder others
   *   control: see channel-dir.ts), UNAVAILABLE (permissions), TIMEOUT (a live writer holds
   *   this name).
   */
  static async open(dir: string, role: ChannelRole, options: JournalLinkOptions = {}): Promise<JournalLink> {
    const name = options.name ?? role;
    if (!NAME.test(name))
      throw new IpcError('INVALID_ARGUMENT', `journal end name must match ${NAME}: ${name}`);
    const access = channelAccess(options);
    await prepareChannelDir(dir, access);
    const { inbox, outbox } = directions(role);
    const writerDir = join(journalDir(dir, outbox), `w-${name}`);
    await ensureFolder(dir, writerDir, access);
    await ensureFolder(dir, join(journalDir(dir, inbox), 'cursors'), access);
    let link: JournalLink | undefined;
    const onError = (e: IpcError) => (link ? link.report(e) : options.onError?.(e));
    const writer = await JournalWriter.open(
      writerDir,
      {
        ...options,
        onStale: (e) => {
          onError(e);
          options.onStale?.(e);
        },
        onCompromised: (e) => {
          options.onCompromised?.(e);
          if (link) link.close(e);
          else onError(e);
        },
      },
      access,
    );
    let reader: JournalReader;
    try {
      reader = await JournalReader.open(journalDir(dir, inbox), name, { ...options, onError }, access);
    } catch (err) {
      await writer.close();
      throw err;
    }
    link = new JournalLink(dir, role, writer, reader, options);
    return link;
  }

  attach(handler: LinkHandler): void {
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.handler = handler;
    if (this.closed) {
      handler.onClose(this.closeError);
      return;
    }
    const { inbox } = directions(this.role);
    // A writer folder appearing makes a full pass (so do lock refreshes, once a second a writer:
    // cheaper than telling a writer folder from its lock and owner files by name).
    this.rescanner.watch(journalDir(this.dir, inbox));
    this.rescanner.start();
  }

  send(frame: Frame): void | Promise<void> {
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const size = admitOutgoing(frame, this.queuedBytes, this.maxMessageSize, this.maxQueuedBytes);
    this.queue.push({ frame, size });
    this.queuedBytes += size;
    this.kick();
    if (this.queuedBytes <= this.highWaterMark) return;
    return new Promise((resolve, reject) =>
      this.waiters.push({ resolve, reject, below: this.highWaterMark }),
    );
  }

  /**
   * Resolves when every message sent so far is in the journal (acknowledged: it survives the
   * death of this process). Rejects with the link's error if it failed before.
   */
  flush(): Promise<void> {
    if (this.closed && this.closeError) return Promise.reject(this.closeError);
    if (this.queue.length === 0 && !this.writing) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject, below: 0 }));
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    this.rescanner.close();
    const reading = this.rescanner.idle().then(() => this.reader.close());
    if (error) {
      this.queue = [];
      this.queuedBytes = 0;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(error);
    }
    // After a clean close the write loop drains the queue, then closes the writer.
    const writing = this.writing ? new Promise<void>((ended) => (this.writeLoopEnded = ended)) : undefined;
    const writerClosed = error || !this.writing ? this.writer.close() : undefined;
    this.finished = Promise.all([reading, writing, writerClosed]).then(
      () => {},
      () => {},
    );
    this.handler?.onClose(error);
  }

  /** Resolves once, after close(), the cursor is saved and the reader and the writer are closed. */
  whenClosed(): Promise<void> {
    return this.finished ?? Promise.resolve();
  }

  /** Resolves when the read pass under way (if any) has delivered and its cursor is saved. */
  async idle(): Promise<void> {
    await this.rescanner.idle();
    await this.reader.settled();
  }

  /** Where this end's reader is, per writer. */
  get readerPosition() {
    return this.reader.position;
  }

  private report(error: IpcError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // observers must not stop the link
    }
  }

  private async scan(full: boolean): Promise<void> {
    if (this.closed) return;
    const { inbox } = directions(this.role);
    const base = journalDir(this.dir, inbox);
    await this.reader.poll((record) => {
      if (this.closed) return false;
      this.handler?.onFrame(record.frame);
      return true;
    }, full);
    // Watch each writer folder too: the base folder's watch only sees folders appear. A segment
    // that grew needs a quick pass; one created or removed, a full one.
    for (const writer of this.reader.writers) {
      if (this.watched.has(writer)) continue;
      this.watched.add(writer);
      this.rescanner.watch(join(base, writer), (type, file) =>
        file !== null && type === 'change' && file.endsWith(SEGMENT_SUFFIX) ? 'quick' : 'full',
      );
    }
  }

  private readonly watched = new Set<string>();

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    // After the sends of this turn of the event loop: they go out in one write.
    setImmediate(() => void this.writeLoop());
  }

  private async writeLoop(): Promise<void> {
    const maxBatch = this.options.maxBatchBytes ?? 1024 * 1024;
    while (this.queue.length > 0 && !this.closeError) {
      let n = 0;
      let bytes = 0;
      let recordBytes = 0;
      for (; n < this.queue.length; n++) {
        const size = this.queue[n]!.size;
        if (n > 0 && recordBytes + RECORD_HEADER + size > maxBatch) break;
        bytes += size;
        recordBytes += RECORD_HEADER + size;
      }
      // The write is synchronous (JournalWriter.append), so one buffer serves every small batch.
      const out = recordBytes <= this.scratch.byteLength ? this.scratch : Buffer.allocUnsafe(recordBytes);
      let end = 0;
      for (let i = 0; i < n; i++) end = writeRecord(out, end, this.queue[i]!.frame);
      try {
        await this.writer.append(out.subarray(0, end));
      } catch (err) {
        const e = IpcError.from(err, 'UNAVAILABLE');
        if (e.code === 'CLOSED') {
          this.close(e);
          break;
        }
        this.report(e);
        // After close() a failed write is not retried: close() must end.
        if (this.closed) break;
        await sleep(WRITE_RETRY_MS);
        continue;
      }
      this.queue.splice(0, n);
      this.queuedBytes -= bytes;
      this.releaseWaiters();
    }
    this.writing = false;
    this.releaseWaiters();
    if (this.closed) {
      await this.writer.close().catch(() => {});
      this.writeLoopEnded?.();
    }
  }

  private releaseWaiters(): void {
    const keep: typeof this.waiters = [];
    const idle = this.queue.length === 0 && !this.writing;
    for (const w of this.waiters) {
      if (w.below === 0 ? idle : this.queuedBytes <= w.below) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }
}
