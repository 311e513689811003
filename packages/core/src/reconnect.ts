/**
 * The one reconnect policy of every transport: exponential backoff with full jitter, bounded
 * by a minimum and a maximum delay and an optional number of attempts; and the one loop that
 * applies it (Reconnector).
 */
import { closedError, IpcError } from './errors.js';
import { checkOptions, type OptionNames } from './options.js';

export interface ReconnectOptions {
  /** Smallest delay before an attempt, in ms. Default 100. */
  minDelay?: number;
  /** Largest delay before an attempt, in ms. Default 30 000. */
  maxDelay?: number;
  /** Growth of the delay ceiling per attempt. Default 2. */
  factor?: number;
  /** Attempts before giving up (the first dial included); Infinity by default. */
  maxAttempts?: number;
  /** Full jitter (a random delay up to the ceiling); on by default. Off: the ceiling itself. */
  jitter?: boolean;
}

const reconnectOptionNames: OptionNames<ReconnectOptions> = {
  minDelay: true,
  maxDelay: true,
  factor: true,
  maxAttempts: true,
  jitter: true,
};

/** Connection state as observed through `client.state` and `client.onState()`. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export class ReconnectPolicy {
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly maxAttempts: number;
  readonly jitter: boolean;

  /** @throws IpcError INVALID_ARGUMENT for an unknown option or bounds that contradict. */
  constructor(options: ReconnectOptions = {}) {
    checkOptions(options, reconnectOptionNames, 'reconnect');
    this.minDelay = options.minDelay ?? 100;
    this.maxDelay = options.maxDelay ?? 30_000;
    this.factor = options.factor ?? 2;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.jitter = options.jitter ?? true;
    if (
      !(this.minDelay >= 0) ||
      !(this.maxDelay >= this.minDelay) ||
      !(this.factor >= 1) ||
      !(this.maxAttempts >= 1)
    ) {
      throw new IpcError(
        'INVALID_ARGUMENT',
        'reconnect: need 0 <= minDelay <= maxDelay, factor >= 1, maxAttempts >= 1',
        {
          details: options,
        },
      );
    }
  }

  /**
   * The delay before retry number `attempt` (0 for the first retry): a random value between
   * minDelay and min(maxDelay, minDelay * factor^attempt).
   */
  delay(attempt: number, random: () => number = Math.random): number {
    const ceiling = Math.min(
      this.maxDelay,
      Math.max(this.minDelay, 1) * this.factor ** Math.min(attempt, 64),
    );
    if (!this.jitter) return ceiling;
    return this.minDelay + random() * (ceiling - this.minDelay);
  }

  /** Whether another attempt may follow `attempts` failed ones. */
  allows(attempts: number): boolean {
    return attempts < this.maxAttempts;
  }
}

/** Resolves after `ms`, or rejects ABORTED when `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new IpcError('ABORTED', 'aborted', { cause: signal.reason }));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new IpcError('ABORTED', 'aborted', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a {@link Reconnector} asks of the connections it keeps. */
export interface ReconnectorHooks<T> {
  /** Dials one connection; rejects when it cannot (any error counts as a failed attempt). */
  dial(signal: AbortSignal): Promise<T>;
  /**
   * Wires a fresh connection to its owner, who calls `lost` when it closes. A connection closed
   * before may call `lost` during attach: the attempt failed (it is never 'open').
   */
  attach(conn: T, lost: (error?: IpcError) => void): void;
  /** Closes a connection not kept: dialled after close(), or the current one at close(). */
  discard(conn: T): void;
  /** The state has become 'open' on `conn` (send what waited, subscribe again). */
  opened?(conn: T): void;
  /** `conn` was lost, before the state changes (settle what must not wait for the next one). */
  lost?(conn: T, error: IpcError): void;
  /**
   * The state becomes 'closed', before the listeners hear it: `error` is why (a lost link
   * without reconnect, the give-up, a failed first dial), undefined after close().
   */
  closing?(error: IpcError | undefined): void;
  /**
   * The loop waits `delay` ms before dial number `attempt` + 1 after a loss or a failure
   * (`attempt` counts the failed dials since; `error` is the last one's).
   */
  retrying?(attempt: number, delay: number, error: IpcError | undefined): void;
  /** A state listener threw (reported here so that the loop and close() go on). */
  listenerError?(error: IpcError): void;
}

/**
 * The one reconnect loop: keeps one connection, redials after a loss under a ReconnectPolicy
 * (none: a loss closes), and reports the state, `connecting → open → reconnecting → open → … →
 * closed`. The first connection fails fast, or with `start(true)` is retried under the policy
 * (the state stays `connecting` meanwhile). After `maxAttempts` failed dials the state becomes
 * `closed` with a CONNECT error. A connection that closes while being attached counts as a failed
 * attempt, so a server that accepts and closes at once does not get redialled at `minDelay`.
 * The RPC client and nng's ReconnectingTransport run on it.
 */
export class Reconnector<T> {
  private _state: ConnectionState = 'connecting';
  private conn: T | undefined;
  private adopting: T | undefined;
  private lostWhileAdopting: IpcError | undefined;
  private closedWith: IpcError | undefined;
  private readonly stopping = new AbortController();
  private readonly listeners = new Set<(state: ConnectionState, error?: IpcError) => void>();
  private readonly waiters: Array<{ resolve(conn: T): void; reject(error: IpcError): void }> = [];

  /**
   * @param policy the backoff; undefined: no reconnect.
   * @param what names the owner in CLOSED errors ('client' → "client closed").
   */
  constructor(
    private readonly hooks: ReconnectorHooks<T>,
    readonly policy: ReconnectPolicy | undefined,
    private readonly what = 'client',
  ) {}

  get state(): ConnectionState {
    return this._state;
  }

  /** The open connection, if any. */
  get current(): T | undefined {
    return this.conn;
  }

  /** Aborted by close(): dials in progress may stop on it. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Observes state changes; returns the function that stops observing. */
  onState(listener: (state: ConnectionState, error?: IpcError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Dials the first connection; with `retry` (and a policy) under the policy. Rejects with the
   * dial's error (CONNECT by default), CLOSED (closed at once), or the give-up's CONNECT; the
   * state is 'closed' then.
   */
  async start(retry = false): Promise<void> {
    if (this.conn !== undefined || this._state !== 'connecting') return;
    if (retry && this.policy) {
      await this.loop(false);
      if (this.state !== 'open') throw this.closedWith ?? new IpcError('CONNECT', 'could not connect');
      return;
    }
    let error: IpcError;
    try {
      const failed = this.adopt(await this.hooks.dial(this.stopping.signal));
      if (failed === undefined) return;
      error = failed;
    } catch (err) {
      error = IpcError.from(err, 'CONNECT');
    }
    this.setState('closed', error);
    throw error;
  }

  /** The open connection; while connecting or reconnecting, the next one. Rejects once closed. */
  ready(): Promise<T> {
    if (this._state === 'open' && this.conn !== undefined) return Promise.resolve(this.conn);
    if (this._state === 'closed') return Promise.reject(this.closedWith ?? closedError(this.what));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Reports that `conn` is lost (a no-op unless it is the current one): redials under the
   * policy, or closes without one. Owners that learn of a loss besides the connection's own
   * close callback (a request failing CLOSED) call it too.
   */
  lost(conn: T, error?: IpcError): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    const lost = new IpcError('CLOSED', `connection lost${error ? `: ${error.message}` : ''}`, {
      cause: error,
    });
    if (this.adopting === conn) {
      // Nothing was sent on it yet; adopt() reports the loss to whoever dialled.
      this.lostWhileAdopting = lost;
      return;
    }
    this.hooks.lost?.(conn, lost);
    if (!this.policy) {
      this.setState('closed', lost);
      return;
    }
    this.setState('reconnecting', lost);
    void this.loop(true);
  }

  /**
   * Moves from the open connection to `next` (a failover client going back to an earlier
   * address): the `lost` hook runs for the old connection (its owner made sure nothing sent is
   * pending on it), the state goes `reconnecting` and then `open` on `next`. If `next`
   * closes while being attached, the loop redials as after a loss. A no-op that discards `next`
   * unless the state is open.
   */
  replace(next: T): void {
    const old = this.conn;
    if (this._state !== 'open' || old === undefined) {
      this.hooks.discard(next);
      return;
    }
    this.conn = undefined;
    const moved = new IpcError('CLOSED', 'connection replaced');
    this.hooks.lost?.(old, moved);
    this.setState('reconnecting', moved);
    this.hooks.discard(old);
    if (this.adopt(next) !== undefined && (this._state as ConnectionState) === 'reconnecting')
      void this.loop(true);
  }

  /** Closes for good: a dial or backoff in progress stops, the current connection is discarded. */
  close(): void {
    if (this._state === 'closed') return;
    this.stopping.abort();
    const conn = this.conn;
    this.conn = undefined;
    this.setState('closed');
    if (conn !== undefined) this.hooks.discard(conn);
  }

  /**
   * Makes `conn` the current connection. Returns undefined when it is open, or why it could not
   * be used: the owner closed meanwhile, or it closed while being attached.
   */
  private adopt(conn: T): IpcError | undefined {
    if (this._state === 'closed') {
      this.hooks.discard(conn);
      return closedError(this.what);
    }
    this.conn = conn;
    this.adopting = conn;
    this.lostWhileAdopting = undefined;
    try {
      this.hooks.attach(conn, (error) => this.lost(conn, error));
    } finally {
      this.adopting = undefined;
    }
    if (this.conn !== conn) return this.lostWhileAdopting ?? closedError('connection');
    this.setState('open');
    this.hooks.opened?.(conn);
    for (const w of this.waiters.splice(0)) w.resolve(conn);
    return undefined;
  }

  private async loop(afterLoss: boolean): Promise<void> {
    const policy = this.policy!;
    let failures = 0;
    let last: IpcError | undefined;
    while (this._state !== 'closed') {
      if (afterLoss || failures > 0) {
        const delay = policy.delay(failures);
        this.hooks.retrying?.(failures, delay, last);
        try {
          await sleep(delay, this.stopping.signal);
        } catch {
          return;
        }
      }
      try {
        const failed = this.adopt(await this.hooks.dial(this.stopping.signal));
        if (failed === undefined) return;
        last = failed;
      } catch (err) {
        last = IpcError.from(err, 'CONNECT');
        // Refused credentials (a token, a certificate) do not get better by dialling again.
        if (last.code === 'AUTH') {
          this.setState('closed', last);
          return;
        }
      }
      failures++;
      if (!policy.allows(failures)) break;
    }
    if (this._state === 'closed') return;
    const gaveUp = new IpcError('CONNECT', `gave up after ${failures} attempts: ${last?.message ?? ''}`, {
      cause: last,
    });
    this.setState('closed', gaveUp);
  }

  private setState(state: ConnectionState, error?: IpcError): void {
    if (this._state === state) return;
    if (state === 'closed') {
      this.closedWith = error;
      this.hooks.closing?.(error);
    }
    this._state = state;
    if (state === 'closed') {
      const reason = error ?? closedError(this.what);
      for (const w of this.waiters.splice(0)) w.reject(reason);
    }
    for (const listener of [...this.listeners]) {
      // A throwing observer must not stop close() or the loop half-way.
      try {
        listener(state, error);
      } catch (err) {
        this.hooks.listenerError?.(IpcError.from(err));
      }
    }
  }
}
