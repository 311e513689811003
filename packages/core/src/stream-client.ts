/**
 * Streamed results and progress, the client's half. `client.stream(method, params)` sends a
 * request with `stream: <window>` and returns a {@link ResultStream}: an async iterator of the
 * items the server sends as STREAM_ITEM_EVENTs, ended by the request's response (its error, if
 * any, thrown by the loop after the items before it). The client holds at most `window` items
 * (the server sends no more before it is granted credit), and grants credit in halves of the
 * window as the consumer takes items, so a slow consumer slows the server's generator instead of
 * growing a queue. `break`, `return()` or the caller's signal cancel the request, which stops
 * the generator on the server.
 */
import type { Contract, MethodName, ResultOf } from './contract.js';
import { PROGRESS_EVENT, STREAM_ITEM_EVENT } from './dialect.js';
import { IpcError } from './errors.js';
import type { RequestOptions } from './rpc-client.js';

/** The type of one streamed item of `M`: `T` for a method whose result is `AsyncIterable<T>`. */
export type StreamItemOf<C extends Contract, M extends MethodName<C>> =
  ResultOf<C, M> extends AsyncIterable<infer T> ? T : ResultOf<C, M>;

export interface StreamOptions {
  /**
   * Milliseconds for the whole stream (sent to the server as its deadline); 0 or unset: none,
   * whatever the client's `timeout` (a stream may last as long as its consumer wants).
   */
  timeout?: number;
  /** Aborting ends the loop with ABORTED and stops the generator on the server. */
  signal?: AbortSignal;
  /** Items the server may send ahead of the consumer (the credit window). Default 16. */
  credit?: number;
}

/** Where the events about one request go (the client looks it up by request id). */
export interface RequestRoute {
  /** Set by the client when the request is made. */
  id: string;
  progress?(value: unknown): void;
  /** For a stream: the credit window, and where its items go. */
  stream?: number;
  item?(value: unknown): void;
}

/** Request options with the route of a stream (internal to core). */
export interface RoutedRequestOptions extends RequestOptions {
  route?: RequestRoute;
}

/**
 * Delivers an event that belongs to a request (progress, a stream item) to its route; false
 * when the event is not one of those, or names no route (then it is an ordinary event).
 */
export function routeEvent(routes: Map<string, RequestRoute>, name: string, data: unknown): boolean {
  if (name !== STREAM_ITEM_EVENT && name !== PROGRESS_EVENT) return false;
  const id = (data as { id?: unknown } | null)?.id;
  const route = typeof id === 'string' ? routes.get(id) : undefined;
  if (!route) return false;
  const value = (data as { value?: unknown }).value;
  if (name === PROGRESS_EVENT) route.progress?.(value);
  else route.item?.(value);
  return true;
}

/** What a ResultStream needs of its client. */
export interface StreamStarter {
  /** Sends the request with its route; settles when the stream ends. */
  start(route: RequestRoute, signal: AbortSignal, timeout: number): Promise<unknown>;
  /** Grants `n` more items of request `id` (best effort: a lost link ends the stream anyway). */
  grant(id: string, n: number): void;
}

/**
 * What `client.stream()` returns: an async iterator of the items whose `return()` (what `break`
 * calls) always exists and stops the handler on the server.
 */
export interface StreamIterator<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
}

/** The items of a streamed result; iterate it once, with `for await`. */
export class ResultStream<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private started = false;
  private ended = false;
  private failure: IpcError | undefined;
  /** Items taken by the consumer since the last grant. */
  private taken = 0;
  private readonly window: number;
  private readonly own = new AbortController();
  private readonly route: RequestRoute;

  constructor(
    private readonly starter: StreamStarter,
    private readonly options: StreamOptions,
    window: number,
  ) {
    this.window = window;
    this.route = { id: '', stream: window, item: (value) => this.push(value as T) };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (!this.started) this.start();
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++] as T;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      this.took();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      const f = this.failure;
      if (f) {
        this.failure = undefined;
        return Promise.reject(f);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter)
      return Promise.reject(new IpcError('INVALID_ARGUMENT', 'stream: next() called while another waits'));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Stops the stream (the server's generator is stopped too); what was queued is dropped. */
  return(): Promise<IteratorResult<T>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.stop();
    return Promise.reject(error);
  }

  private start(): void {
    this.started = true;
    const { signal } = this.options;
    const combined = signal ? AbortSignal.any([signal, this.own.signal]) : this.own.signal;
    this.starter.start(this.route, combined, this.options.timeout ?? 0).then(
      () => this.end(undefined),
      (err: unknown) => this.end(IpcError.from(err)),
    );
  }

  private stop(): void {
    this.queue = [];
    this.head = 0;
    if (!this.ended) {
      this.ended = true;
      this.failure = undefined;
      if (this.started) this.own.abort(new IpcError('ABORTED', 'stream closed by its consumer'));
    }
    this.started = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
  }

  private push(value: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.took();
      w.resolve({ value, done: false });
      return;
    }
    if (this.queue.length - this.head >= this.window) {
      // The server sent more than it was granted: stop rather than buffer without bound.
      this.end(
        new IpcError('PROTOCOL', `stream: the server sent more than the ${this.window} items granted`),
      );
      this.own.abort(this.failure);
      return;
    }
    this.queue.push(value);
  }

  private took(): void {
    if (++this.taken >= Math.ceil(this.window / 2) && !this.ended) {
      this.starter.grant(this.route.id, this.taken);
      this.taken = 0;
    }
  }

  /** The request settled: queued items are still delivered, then the end or the error. */
  private end(error: IpcError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    this.failure = undefined;
    if (error) w.reject(error);
    else w.resolve({ value: undefined, done: true });
  }
}

/** The window a stream asks for; INVALID_ARGUMENT unless an integer from 1 to 65 536. */
export function creditWindow(credit: number | undefined, fallback: number): number {
  const n = credit ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65_536)
    throw new IpcError('INVALID_ARGUMENT', `stream credit must be an integer from 1 to 65536, not ${n}`);
  return n;
}
