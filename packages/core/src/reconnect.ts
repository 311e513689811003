/**
 * The one reconnect policy of every transport: exponential backoff with full jitter, bounded
 * by a minimum and a maximum delay and an optional number of attempts.
 */
import { IpcError } from './errors.js';

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

/** Connection state as observed through `client.state` and `client.onState()`. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export class ReconnectPolicy {
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly maxAttempts: number;
  readonly jitter: boolean;

  constructor(options: ReconnectOptions = {}) {
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
