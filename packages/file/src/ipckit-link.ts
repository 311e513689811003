/**
 * The ipckit-compatible file link: reads the inbox file, appends to the outbox file under
 * ipckit's lock with a tmp-then-rename write (wire-formats.md §4).
 *
 * Unlike ipckit, a message is new when its id has not been delivered yet (a bounded memory of
 * ids), so messages sharing a millisecond are neither repeated nor skipped; and our writer gives
 * each message a timestamp above every earlier one, so ipckit readers neither repeat nor skip ours.
 *
 * A file keeps only the newest 100 messages, so a reader more than 100 behind loses the oldest.
 * When both ends are ours this does not happen: our reader records how far it has read in
 * `<direction>.read` (a file ipckit ignores), and our writer never lets more than 100 unread
 * messages stand in the file while that reader's process is alive (it waits instead: backpressure).
 * With an ipckit reader (no such file) the format's limit applies. Nothing survives a restart of
 * the reader: the messages still in the inbox are delivered again, as ipckit does.
 */

import nodeFs, { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import {
  DEFAULT_LIMITS,
  decodeUtf8,
  type FileAccessOptions,
  type Frame,
  IpcError,
  type Link,
  type LinkHandler,
  sleep,
  tooLargeError,
} from '@openclaw-ipc/core';
import {
  type ChannelAccess,
  channelAccess,
  createIfMissing,
  fsError,
  pidAlive,
  prepareChannelDir,
  readText,
  replaceFile,
} from './channel-dir.js';
import { type ChannelRole, channelInfo, channelInfoPath, directions, ipckitFiles } from './channel-files.js';
import { DeliveredIds } from './delivered-ids.js';
import {
  appendMessages,
  IPCKIT_KEEP,
  messageFrame,
  parseChannelFile,
  parseOutgoing,
  parseProgress,
  serializeChannelFile,
  serializeProgress,
} from './ipckit-file.js';
import { acquireIpckitLock, type IpckitLockOptions } from './ipckit-lock.js';
import type { IpckitMessage } from './ipckit-message.js';
import { admitOutgoing } from './outgoing-limits.js';
import { Rescanner, type WakeOptions } from './wake.js';

export interface FileLinkCommonOptions extends WakeOptions, FileAccessOptions {
  /** Largest message, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Queued outgoing bytes above which send() reports backpressure. Default 1 MiB. */
  highWaterMark?: number;
  /** Queued outgoing bytes above which send() throws CAPACITY. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Reports failures nobody awaits: bad files or messages, stale locks, failed writes. */
  onError?: (error: IpcError) => void;
}

export interface IpckitLinkOptions extends FileLinkCommonOptions {
  /** Ids remembered as delivered. Default 10 000 (a file holds 100). */
  rememberIds?: number;
  /** Deliver the messages already in the inbox when the link opens (as ipckit does). Default true. */
  backlog?: boolean;
  /** Largest channel file read, in bytes. Default 100 × maxMessageSize, at most 64 MiB. */
  maxFileSize?: number;
  /**
   * Record how far this end has read (`<direction>.read`) and, when writing, respect the record
   * of our reader at the other end so nothing is pushed out of the file unread. Default true.
   */
  progress?: boolean;
  /** The writer lock's retry and staleness settings (ipckit's by default). */
  lock?: IpckitLockOptions;
}

/** Milliseconds between attempts when a write fails (lock held, disk full). */
const WRITE_RETRY_MS = 20;
/** Milliseconds between looks when our reader has a full file unread. */
const READER_WAIT_MS = 2;
/**
 * The reader records its progress once this many delivered messages are unrecorded (a writer of
 * ours then always has room for the other 75 of a file), or this long after the first of them.
 * Each record is a create and a rename in the channel folder (~0.3 ms of file-system work): at
 * every message it would cost more than the message itself.
 */
const PROGRESS_EVERY = 25;
const PROGRESS_DELAY_MS = 100;

export class IpckitLink implements Link {
  readonly transport = 'file';
  readonly remoteAddress: string;
  private handler: LinkHandler | undefined;
  private closed = false;
  private closeError: IpcError | undefined;
  private readonly delivered: DeliveredIds;
  private readonly reported = new DeliveredIds(1000);
  private readonly rescanner: Rescanner;
  private readonly inbox: ReturnType<typeof ipckitFiles>;
  private readonly outbox: ReturnType<typeof ipckitFiles>;
  private lastStat = '';
  private readUpTo = -1;
  private unrecorded = 0;
  private progressTimer: ReturnType<typeof setTimeout> | undefined;
  private queue: Array<{ message: IpckitMessage; size: number }> = [];
  private queuedBytes = 0;
  private writing = false;
  /** The batch being written now, if any (whenClosed waits for it). */
  private writingBatch: Promise<unknown> | undefined;
  /** After close(): settles once the file work under way at close() is over (whenClosed). */
  private finished: Promise<void> | undefined;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: IpcError) => void; below: number }> = [];
  private readonly maxMessageSize: number;
  private readonly highWaterMark: number;
  private readonly maxQueuedBytes: number;
  private readonly maxFileSize: number;

  private constructor(
    readonly dir: string,
    readonly role: ChannelRole,
    private readonly options: IpckitLinkOptions,
    private readonly access: ChannelAccess,
  ) {
    this.remoteAddress = `file://${dir}?role=${role === 'backend' ? 'frontend' : 'backend'}`;
    const { inbox, outbox } = directions(role);
    this.inbox = ipckitFiles(dir, inbox);
    this.outbox = ipckitFiles(dir, outbox);
    this.delivered = new DeliveredIds(Math.max(options.rememberIds ?? 10_000, IPCKIT_KEEP * 2));
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes;
    this.maxFileSize = options.maxFileSize ?? Math.min(100 * this.maxMessageSize, 64 * 1024 * 1024);
    this.rescanner = new Rescanner(() => this.scan(), options);
  }

  /**
   * Opens the `role` end of the channel in `dir`: creates the directory (0700), `.channel_info`
   * if missing and both message files (`[]`, 0600) if missing (`fileMode` widens both).
   * @throws IpcError AUTH (a folder others control: see channel-dir.ts), UNAVAILABLE (no
   *   permission, not a directory), INVALID_ARGUMENT (a bad `fileMode` or `sharedFolder`).
   */
  static async open(dir: string, role: ChannelRole, options: IpckitLinkOptions = {}): Promise<IpckitLink> {
    const access = channelAccess(options);
    await prepareChannelDir(dir, access);
    const link = new IpckitLink(dir, role, options, access);
    await createIfMissing(channelInfoPath(dir), channelInfo(), access.fileMode);
    await createIfMissing(link.inbox.file, '[]', access.fileMode);
    await createIfMissing(link.outbox.file, '[]', access.fileMode);
    if (options.backlog === false) {
      const existing = await link.readInbox();
      for (const m of existing ?? []) link.delivered.add(m.id);
    }
    return link;
  }

  attach(handler: LinkHandler): void {
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.handler = handler;
    if (this.closed) {
      handler.onClose(this.closeError);
      return;
    }
    // Only events naming the inbox matter to the reader; locks, tmp files and progress records
    // come and go at every write and wake nobody.
    const inbox = basename(this.inbox.file);
    this.rescanner.watch(this.dir, (_type, file) => (file === null || file === inbox ? 'full' : 'none'));
    this.rescanner.start();
  }

  send(frame: Frame): void | Promise<void> {
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const size = admitOutgoing(frame, this.queuedBytes, this.maxMessageSize, this.maxQueuedBytes);
    const message = parseOutgoing(typeof frame === 'string' ? frame : decodeUtf8(frame));
    this.queue.push({ message, size });
    this.queuedBytes += size;
    this.kick();
    if (this.queuedBytes <= this.highWaterMark) return;
    return new Promise((resolve, reject) =>
      this.drainWaiters.push({ resolve, reject, below: this.highWaterMark }),
    );
  }

  /** Resolves when every message sent so far is in the outbox file. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && !this.writing) return Promise.resolve();
    if (this.closed && this.closeError) return Promise.reject(this.closeError);
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject, below: 0 }));
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = error;
    this.rescanner.close();
    if (this.progressTimer) clearTimeout(this.progressTimer);
    // A closed reader no longer holds writers back (its process may live on).
    const unlinked =
      this.options.progress !== false ? fs.unlink(this.inbox.progress).catch(() => {}) : undefined;
    // After a clean close the queued messages are still written; after a failure they are dropped.
    if (error) this.dropQueue(error);
    this.finished = Promise.all([this.rescanner.idle(), unlinked, this.writingBatch]).then(
      () => {},
      () => {},
    );
    this.handler?.onClose(error);
  }

  /**
   * Resolves once, after close(), the file work under way at close() is over: a read pass, the
   * removal of the progress file, the batch being written. Messages still queued after a clean
   * close (a reader of ours that has 100 unread holds them back) go on being written afterwards.
   */
  whenClosed(): Promise<void> {
    return this.finished ?? Promise.resolve();
  }

  // ---- reading ----

  private report(error: IpcError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // a throwing observer must not stop the link
    }
  }

  /** The valid messages of the inbox, or undefined when it is unchanged or unreadable. */
  private async readInbox(): Promise<IpckitMessage[] | undefined> {
    const path = this.inbox.file;
    let text: string;
    try {
      const stat = nodeFs.lstatSync(path);
      // ctime too: a replaced file may reuse the inode number of the one it replaced.
      const key = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
      if (key === this.lastStat) return undefined;
      if (stat.size > this.maxFileSize) {
        this.lastStat = key;
        this.reportOnce(key, tooLargeError(stat.size, this.maxFileSize, `channel file ${path}`));
        return undefined;
      }
      text = await readText(path);
      this.lastStat = key;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.reportOnce(`read:${code}`, fsError(err, 'read', path));
      return undefined;
    }
    try {
      const parsed = parseChannelFile(text);
      // Reported once per kind of problem and message id, not at every rescan.
      for (const e of parsed.errors) this.reportOnce(`${e.message}:${JSON.stringify(e.details)}`, e);
      return parsed.messages;
    } catch (err) {
      const e = IpcError.from(err, 'SERIALIZATION');
      this.reportOnce(this.lastStat, new IpcError(e.code, `${path}: ${e.message}`, { cause: e }));
      return undefined;
    }
  }

  private reportOnce(key: string, error: IpcError): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.report(error);
  }

  private async scan(): Promise<void> {
    if (this.closed) return;
    const messages = await this.readInbox();
    if (!messages) return;
    let readUpTo = -1;
    let delivered = 0;
    for (const m of messages) {
      if (this.closed) return;
      if (this.delivered.has(m.id)) continue;
      this.delivered.add(m.id);
      if (m.timestamp > readUpTo) readUpTo = m.timestamp;
      delivered++;
      this.handler?.onFrame(messageFrame(m));
    }
    if (readUpTo < 0 || this.options.progress === false) return;
    this.readUpTo = Math.max(this.readUpTo, readUpTo);
    this.unrecorded += delivered;
    // Recorded well before a writer has to wait on it (it only waits with 100 unread), not at
    // every message.
    if (this.unrecorded >= PROGRESS_EVERY) await this.recordProgress();
    else this.progressTimer ??= setTimeout(() => void this.recordProgress(), PROGRESS_DELAY_MS);
  }

  private async recordProgress(): Promise<void> {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    if (this.closed || this.unrecorded === 0) return;
    this.unrecorded = 0;
    const { progress } = this.inbox;
    const text = serializeProgress({ pid: process.pid, timestamp: this.readUpTo });
    await replaceFile(progress, `${progress}.tmp`, text, this.access.fileMode).catch((err) =>
      this.reportOnce('progress', IpcError.from(err, 'UNAVAILABLE')),
    );
  }

  /** Unread messages our live reader leaves in `existing`, or undefined without such a reader. */
  private async unreadByOurReader(existing: IpckitMessage[]): Promise<number | undefined> {
    if (this.options.progress === false) return undefined;
    try {
      const progress = parseProgress(await readText(this.outbox.progress));
      if (!progress || !pidAlive(progress.pid)) return undefined;
      const read = progress.timestamp;
      return existing.filter((m) => m.timestamp > read).length;
    } catch {
      return undefined;
    }
  }

  // ---- writing ----

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0 && !(this.closed && this.closeError)) {
      // At most one file's worth per write, so no message of a batch pushes out another.
      const batch = this.queue.slice(0, IPCKIT_KEEP);
      let written: number;
      try {
        const writing = this.writeBatch(batch.map((entry) => entry.message));
        this.writingBatch = writing;
        try {
          written = await writing;
        } finally {
          this.writingBatch = undefined;
        }
      } catch (err) {
        this.report(IpcError.from(err, 'UNAVAILABLE'));
        if (this.closed) break;
        await sleep(WRITE_RETRY_MS);
        continue;
      }
      if (written === 0) {
        // Our reader has 100 unread: wait for it rather than push messages out of the file.
        await sleep(READER_WAIT_MS);
        continue;
      }
      this.queue.splice(0, written);
      for (const entry of batch.slice(0, written)) this.queuedBytes -= entry.size;
      this.releaseWaiters();
    }
    this.writing = false;
    this.releaseWaiters();
  }

  /** Writes the first messages of `batch` (as many as our reader has room for); returns how many. */
  private async writeBatch(batch: IpckitMessage[]): Promise<number> {
    const { file, lock, tmp } = this.outbox;
    const held = await acquireIpckitLock(
      lock,
      {
        ...this.options.lock,
        onStale: (e) => {
          this.report(e);
          this.options.lock?.onStale?.(e);
        },
      },
      this.access.fileMode,
    );
    try {
      let existing: IpckitMessage[] = [];
      try {
        const parsed = parseChannelFile(await readText(file));
        existing = parsed.messages;
        for (const e of parsed.errors)
          this.report(new IpcError('PROTOCOL', `dropped from ${file}: ${e.message}`));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') {
          const e = IpcError.from(err, 'SERIALIZATION');
          this.report(
            new IpcError(e.code, `${file} was unreadable and is replaced: ${e.message}`, { cause: e }),
          );
        }
      }
      const unread = await this.unreadByOurReader(existing);
      if (unread !== undefined) batch = batch.slice(0, Math.max(0, IPCKIT_KEEP - unread));
      if (batch.length === 0) return 0;
      const next = appendMessages(existing, batch);
      await replaceFile(file, tmp, serializeChannelFile(next), this.access.fileMode);
      return batch.length;
    } finally {
      await held.release();
    }
  }

  private releaseWaiters(): void {
    const keep: typeof this.drainWaiters = [];
    const idle = this.queue.length === 0 && !this.writing;
    for (const w of this.drainWaiters) {
      if (w.below === 0 ? idle : this.queuedBytes <= w.below) w.resolve();
      else keep.push(w);
    }
    this.drainWaiters = keep;
  }

  private dropQueue(error: IpcError): void {
    this.queue = [];
    this.queuedBytes = 0;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.reject(error);
  }
}
