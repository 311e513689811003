/**
 * Events as an async iterator with a bounded queue. A consumer slower than its producer either
 * sees the oldest events dropped (`overflow: 'drop-oldest'`, counted in `dropped`) or gets a
 * CAPACITY error from the iterator (`overflow: 'error'`, the default): never unbounded memory.
 */
import { IpcError } from './errors.js';

export interface EventStreamOptions {
  /** Events held for a slow consumer. Default 1024. */
  limit?: number;
  /** What happens when the queue is full. Default 'error'. */
  overflow?: 'error' | 'drop-oldest';
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
}

export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private head = 0;
  /** Consumers waiting in next(), oldest first (the iterator protocol allows several). */
  private waiters: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.end();
  private ended = false;
  private failure: IpcError | undefined;
  private readonly limit: number;
  private readonly overflow: 'error' | 'drop-oldest';
  /** Events dropped because the consumer was too slow (drop-oldest only). */
  dropped = 0;

  constructor(
    options: EventStreamOptions = {},
    private readonly onEnd: () => void = () => {},
  ) {
    this.limit = options.limit ?? 1024;
    this.overflow = options.overflow ?? 'error';
    const { signal } = options;
    if (signal) {
      if (signal.aborted) this.end();
      else {
        this.signal = signal;
        signal.addEventListener('abort', this.onAbort, { once: true });
      }
    }
  }

  /** Whether the stream has ended (events already queued are still delivered by next()). */
  get done(): boolean {
    return this.ended;
  }

  /** Delivers one event (called by the producer). */
  push(value: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value, done: false });
      return;
    }
    if (this.queue.length - this.head >= this.limit) {
      if (this.overflow === 'drop-oldest') {
        this.queue[this.head++] = undefined as T;
        this.dropped++;
        // Drop the consumed part of the array too, or it would grow with every dropped event.
        if (this.head >= this.limit) this.compact();
      } else {
        this.fail(
          new IpcError('CAPACITY', `event queue over its limit of ${this.limit}: the consumer is too slow`, {
            details: { limit: this.limit },
          }),
        );
        return;
      }
    }
    this.queue.push(value);
  }

  /** Ends the stream with an error, delivered after the events already queued. */
  fail(error: IpcError): void {
    if (this.ended) return;
    this.failure = error;
    this.finish();
  }

  /** Ends the stream; queued events are still delivered. */
  end(): void {
    if (this.ended) return;
    this.finish();
  }

  private finish(): void {
    this.ended = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.onEnd();
    // Waiters exist only when the queue is empty: the first gets the failure, the rest the end.
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (this.failure) {
        const f = this.failure;
        this.failure = undefined;
        w.reject(f);
      } else w.resolve({ value: undefined, done: true });
    }
  }

  private compact(): void {
    this.queue.splice(0, this.head);
    this.head = 0;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++] as T;
      if (this.head > 1024 && this.head * 2 > this.queue.length) this.compact();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.failure) {
        const f = this.failure;
        this.failure = undefined;
        return Promise.reject(f);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.head = 0;
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
