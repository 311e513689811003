/**
 * The bound on a link's unwritten bytes (ws's `bufferedAmount`, the frames batched by the link
 * and writes of its own not yet taken by the kernel). Up to `highWaterMark` a send returns at
 * once; above it the send still goes out, and its caller gets a promise that settles once that
 * write has left and the queue is back under the mark; above `maxQueuedBytes` the peer is too
 * slow: the caller closes the link with the CAPACITY error given here instead of buffering
 * without bound.
 */
import { IpcError } from '@openclaw-ipc/core';

export class SendBackpressure {
  private waiters: Array<{ resolve: () => void; reject: (e: IpcError) => void }> = [];
  /** Writes sent over the mark whose completion callback has not run yet. */
  private overMark = 0;

  /**
   * @param highWaterMark queued bytes above which a send returns a promise.
   * @param maxQueuedBytes queued bytes above which the peer is too slow.
   * @param buffered the bytes queued in the socket at this moment (ws's `bufferedAmount`).
   */
  constructor(
    readonly highWaterMark: number,
    readonly maxQueuedBytes: number,
    private readonly buffered: () => number,
  ) {}

  /** The CAPACITY error when `queued` bytes are too many to accept another send, else undefined. */
  overLimit(queued: number): IpcError | undefined {
    if (queued <= this.maxQueuedBytes) return undefined;
    return new IpcError('CAPACITY', `peer too slow: ${queued} bytes queued (max ${this.maxQueuedBytes})`, {
      details: { queued, limit: this.maxQueuedBytes },
    });
  }

  /**
   * Makes a write over the mark: `write` must call its `done` argument once the write has left
   * (ws.send's callback). The promise settles when it has and the queue is under the mark, or
   * rejects with CLOSED from {@link rejectAll}.
   */
  wait(write: (done: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.overMark++;
      write(() => {
        this.overMark--;
        this.release();
      });
    });
  }

  /** Settles the waiting sends unless a write over the mark is pending with the queue still over it. */
  private release(): void {
    if (this.overMark > 0 && this.buffered() > this.highWaterMark) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }

  /** Rejects every waiting send with CLOSED (the link is gone). */
  rejectAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new IpcError('CLOSED', 'link closed'));
  }
}
