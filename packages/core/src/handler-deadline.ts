/**
 * When a running handler must stop: at the caller's deadline (the request's `timeoutMs`, where
 * the dialect carries it) or at the server's `maxHandlerTime`, whichever comes first. Then its
 * `ctx.signal` aborts with an IpcError TIMEOUT. JavaScript cannot stop a function from outside,
 * so this is cooperative: a handler that ignores its signal runs on and keeps its
 * `maxConcurrent` slot until it returns.
 *
 * Cost: nothing for a handler that answers synchronously (it is done before any deadline); one
 * small entry on one shared timer (deadlines.ts) for a handler that returns a promise.
 */
import { Deadlines } from './deadlines.js';
import { IpcError } from './errors.js';

/** A handler's context as this module sees it. */
export interface DeadlineTarget {
  /** performance.now() at which the handler must stop (fixed before arm). */
  expiresAt: number;
  /** The timeout in ms that set `expiresAt`, for the error message. */
  readonly timeoutMs: number;
  readonly method: string;
  /** Whether it sits in a HandlerDeadlines (set by arm, cleared by done). */
  armed: boolean;
  /** Whether its handler still runs (checked when the deadline comes). */
  running(): boolean;
  abort(reason?: unknown): void;
}

interface Entry {
  deadline: number;
  target: DeadlineTarget;
}

/**
 * How long a handler may run, in ms: the earlier of the caller's `timeoutMs` and
 * `maxHandlerTime` (0: no cap); Infinity when neither applies.
 */
export function handlerBudget(timeoutMs: number | undefined, maxHandlerTime: number): number {
  const cap = maxHandlerTime > 0 ? maxHandlerTime : Number.POSITIVE_INFINITY;
  return timeoutMs === undefined ? cap : Math.min(timeoutMs, cap);
}

/** The TIMEOUT a handler's signal aborts with. */
export const handlerTimeoutError = (method: string, ms: number): IpcError =>
  new IpcError('TIMEOUT', `handler of ${method} ran past its deadline (${ms} ms)`, {
    details: { timeoutMs: ms },
  });

/** The deadlines of the handlers a server runs, on one timer. */
export class HandlerDeadlines {
  private readonly heap = new Deadlines<Entry>(
    (e) => e.target.armed && e.target.running(),
    (e) => e.target.abort(handlerTimeoutError(e.target.method, e.target.timeoutMs)),
  );
  private live = 0;

  /**
   * Aborts `target` at its `expiresAt` if it still runs then; at once if that has passed. Call
   * {@link done} when the handler ends.
   */
  arm(target: DeadlineTarget): void {
    if (target.armed) return;
    if (target.expiresAt <= performance.now()) {
      target.abort(handlerTimeoutError(target.method, target.timeoutMs));
      return;
    }
    target.armed = true;
    this.heap.add({ deadline: target.expiresAt, target }, ++this.live);
  }

  /** The handler of `target` ended: its entry is dead (dropped lazily by the heap). */
  done(target: DeadlineTarget): void {
    if (!target.armed) return;
    target.armed = false;
    this.live--;
  }

  /** Stops the timer (the server closed). */
  clear(): void {
    this.heap.clear();
    this.live = 0;
  }
}

/**
 * `maxHandlerTime` for a request that came through a request/reply channel (nng REQ/REP), whose
 * context has no slot in a connection: its own timer, made only when the option is set.
 */
export class ChannelHandlerCap {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  /** Aborted when the server closes or the cap is reached (TIMEOUT). */
  readonly signal: AbortSignal;
  /** When the cap is reached, in Date.now() milliseconds. */
  readonly deadline: number;

  constructor(closing: AbortSignal, maxHandlerTime: number, method: string) {
    this.signal = AbortSignal.any([closing, this.controller.signal]);
    this.deadline = Date.now() + maxHandlerTime;
    this.timer = setTimeout(
      () => this.controller.abort(handlerTimeoutError(method, maxHandlerTime)),
      maxHandlerTime,
    );
  }

  /** The handler ended: the timer is dropped. */
  done(): void {
    clearTimeout(this.timer);
  }
}
