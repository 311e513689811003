/**
 * A RequestChannel over a Link whose peer answers every request with exactly one frame, in
 * order, and has no ids (the sidecar protocol): the n-th frame received is the reply to the
 * n-th request sent. Requests may be pipelined. A request that times out or is aborted keeps
 * its place in the queue so that its late reply is recognised and dropped.
 */
import {
  abortedError,
  type ChannelRequestOptions,
  closedError,
  type Frame,
  IpcError,
  type Link,
  type RequestChannel,
  timeoutError,
} from '@openclaw-ipc/core';

interface Waiter {
  settled: boolean;
  resolve: (frame: Frame) => void;
  reject: (error: IpcError) => void;
  cleanup: () => void;
}

export interface OrderedReplyChannelOptions {
  /** Replies awaited at once, abandoned ones included; more reject CAPACITY. Default 1024. */
  maxOutstanding?: number;
}

export class OrderedReplyChannel implements RequestChannel {
  readonly transport: string;
  private readonly queue: Waiter[] = [];
  private readonly closeCallbacks: Array<(error?: IpcError) => void> = [];
  private readonly maxOutstanding: number;
  private closed = false;
  private closedByUs = false;

  constructor(
    private readonly link: Link,
    options: OrderedReplyChannelOptions = {},
  ) {
    this.transport = link.transport;
    this.maxOutstanding = options.maxOutstanding ?? 1024;
    link.attach({ onFrame: (frame) => this.onFrame(frame), onClose: (error) => this.finish(error) });
  }

  /** Sends `frame`; resolves with the reply frame. Rejects TIMEOUT, ABORTED, CLOSED, CAPACITY. */
  request(frame: Frame, options: ChannelRequestOptions = {}): Promise<Frame> {
    if (this.closed) return Promise.reject(closedError('channel'));
    const { signal, timeout } = options;
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
    if (this.queue.length >= this.maxOutstanding)
      return Promise.reject(new IpcError('CAPACITY', `${this.maxOutstanding} replies already awaited`));
    return new Promise<Frame>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => fail(abortedError(signal?.reason));
      const waiter: Waiter = {
        settled: false,
        resolve,
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const fail = (error: IpcError) => {
        if (waiter.settled) return;
        waiter.settled = true;
        waiter.cleanup();
        reject(error);
      };
      try {
        const sent = this.link.send(frame);
        if (sent) sent.catch(() => {});
      } catch (err) {
        reject(IpcError.from(err, 'CLOSED'));
        return;
      }
      this.queue.push(waiter);
      if (timeout && timeout > 0) timer = setTimeout(() => fail(timeoutError('request', timeout)), timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  onClose(callback: (error?: IpcError) => void): void {
    this.closeCallbacks.push(callback);
  }

  close(): void {
    if (this.closed) return;
    this.closedByUs = true;
    this.link.close();
    this.finish(undefined);
  }

  private onFrame(frame: Frame): void {
    const waiter = this.queue.shift();
    if (!waiter) {
      this.link.close(new IpcError('PROTOCOL', 'reply received with no request outstanding'));
      return;
    }
    if (waiter.settled) return;
    waiter.settled = true;
    waiter.cleanup();
    waiter.resolve(frame);
  }

  private finish(error: IpcError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const lost = new IpcError('CLOSED', `channel closed${error ? `: ${error.message}` : ''}`, {
      cause: error,
    });
    for (const w of this.queue.splice(0)) {
      if (w.settled) continue;
      w.settled = true;
      w.cleanup();
      w.reject(lost);
    }
    if (!this.closedByUs) for (const cb of this.closeCallbacks) cb(error);
  }
}
