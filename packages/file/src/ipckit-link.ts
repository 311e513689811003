/**
 * The ipckit-compatible file link: reads the inbox file, appends to the outbox file under
 * ipckit's lock with a tmp-then-rename write (wire-formats.md §4).
 *
 * Unlike ipckit, a message is new when its id has not been delivered yet (a bounded memory of
 * ids), so messages sharing a millisecond are neither repeated nor skipped. What the format
 * itself cannot guarantee: a file keeps only the newest 100 messages, so a reader that falls
 * more than 100 messages behind loses the oldest ones; and nothing survives a restart of the
 * reader (the messages still in the inbox are delivered again, as ipckit does).
 */
import { promises as fs } from 'node:fs';
import {
  DEFAULT_LIMITS,
  decodeUtf8,
  type Frame,
  frameSize,
  IpcError,
  type Link,
  type LinkHandler,
  sleep,
  tooLargeError,
} from '@openclaw-ipc/core';
import { createIfMissing, fsError, prepareChannelDir, replaceFile } from './channel-dir.js';
import { type ChannelRole, channelInfo, channelInfoPath, directions, ipckitFiles } from './channel-files.js';
import { DeliveredIds } from './delivered-ids.js';
import {
  appendMessages,
  IPCKIT_KEEP,
  parseChannelFile,
  parseOutgoing,
  serializeChannelFile,
} from './ipckit-file.js';
import { acquireIpckitLock, type IpckitLockOptions } from './ipckit-lock.js';
import type { IpckitMessage } from './ipckit-message.js';
import { Rescanner, type WakeOptions } from './wake.js';

export interface FileLinkCommonOptions extends WakeOptions {
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
  /** The writer lock's retry and staleness settings (ipckit's by default). */
  lock?: IpckitLockOptions;
}

/** Milliseconds between attempts when a write fails (lock held, disk full). */
const WRITE_RETRY_MS = 20;

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
  private queue: Array<{ message: IpckitMessage; size: number }> = [];
  private queuedBytes = 0;
  private writing = false;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: IpcError) => void; below: number }> = [];
  private readonly maxMessageSize: number;
  private readonly highWaterMark: number;
  private readonly maxQueuedBytes: number;
  private readonly maxFileSize: number;

  private constructor(
    readonly dir: string,
    readonly role: ChannelRole,
    private readonly options: IpckitLinkOptions,
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
   * if missing and both message files (`[]`, 0600) if missing.
   * @throws IpcError UNAVAILABLE (no permission, not a directory).
   */
  static async open(dir: string, role: ChannelRole, options: IpckitLinkOptions = {}): Promise<IpckitLink> {
    await prepareChannelDir(dir);
    const link = new IpckitLink(dir, role, options);
    await createIfMissing(channelInfoPath(dir), channelInfo());
    await createIfMissing(link.inbox.file, '[]');
    await createIfMissing(link.outbox.file, '[]');
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
    this.rescanner.watch(this.dir);
    this.rescanner.trigger();
  }

  send(frame: Frame): void | Promise<void> {
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const size = frameSize(frame);
    if (size > this.maxMessageSize) throw tooLargeError(size, this.maxMessageSize, 'message');
    if (this.queuedBytes + size > this.maxQueuedBytes) {
      throw new IpcError(
        'CAPACITY',
        `${this.queuedBytes} bytes already queued (max ${this.maxQueuedBytes})`,
        {
          details: { queued: this.queuedBytes, limit: this.maxQueuedBytes },
        },
      );
    }
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
    // After a clean close the queued messages are still written; after a failure they are dropped.
    if (error) this.dropQueue(error);
    this.handler?.onClose(error);
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
      const stat = await fs.stat(path);
      const key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      if (key === this.lastStat) return undefined;
      if (stat.size > this.maxFileSize) {
        this.lastStat = key;
        this.reportOnce(key, tooLargeError(stat.size, this.maxFileSize, `channel file ${path}`));
        return undefined;
      }
      text = await fs.readFile(path, 'utf8');
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
    for (const m of messages) {
      if (this.closed) return;
      if (this.delivered.has(m.id)) continue;
      this.delivered.add(m.id);
      this.handler?.onFrame(JSON.stringify(m));
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
      try {
        await this.writeBatch(batch.map((entry) => entry.message));
      } catch (err) {
        this.report(IpcError.from(err, 'UNAVAILABLE'));
        if (this.closed) break;
        await sleep(WRITE_RETRY_MS);
        continue;
      }
      this.queue.splice(0, batch.length);
      for (const entry of batch) this.queuedBytes -= entry.size;
      this.releaseWaiters();
    }
    this.writing = false;
    this.releaseWaiters();
  }

  private async writeBatch(batch: IpckitMessage[]): Promise<void> {
    const { file, lock, tmp } = this.outbox;
    const held = await acquireIpckitLock(lock, {
      ...this.options.lock,
      onStale: (e) => {
        this.report(e);
        this.options.lock?.onStale?.(e);
      },
    });
    try {
      let existing: IpckitMessage[] = [];
      try {
        const parsed = parseChannelFile(await fs.readFile(file, 'utf8'));
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
      const next = appendMessages(existing, batch);
      await replaceFile(file, tmp, serializeChannelFile(next));
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
