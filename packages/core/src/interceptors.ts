/**
 * Interceptors: functions that run around every call, on the server (`server.intercept()`) and
 * on the client (`client.intercept()`). They are layers of an onion, in the order added: the
 * first added is the outermost, sees the call first and its outcome last. Each receives the
 * call and `next`, which runs the rest of the chain; what it returns (or throws) is the
 * outcome, so it may observe, replace the result or the error, or (on the client) call `next`
 * again to retry.
 */
import { IpcError, IpcErrorCode, RemoteError } from './errors.js';
import { type IpcMessage, type RequestMessage, type ResponsePayload, success } from './message.js';
import { type ReconnectOptions, ReconnectPolicy, sleep } from './reconnect.js';
import type { RequestOptions, RpcClient } from './rpc-client.js';
import type { HandlerContext } from './rpc-server.js';

// ---- server ----

/** One request as a server interceptor sees it. */
export interface ServerCall {
  /** The request's message id. */
  readonly id: string;
  readonly method: string;
  /** The params as received (before the contract's schema, which runs inside the chain). */
  readonly params: unknown;
  readonly ctx: HandlerContext;
  /** performance.now() when the server started on the request: the duration is now minus it. */
  readonly startedAt: number;
}

/**
 * Runs around every request a server answers: params validation, guards, the method lookup and
 * the handler are inside `next()`. `next()` resolves with the result or rejects with the error
 * the caller is about to receive (an IpcError with the code that crosses the wire: AUTH,
 * PROTOCOL, …, or a RemoteError with `remoteCode` METHOD_NOT_FOUND or INTERNAL). Returning a
 * value replaces the result; throwing replaces the error. `next()` runs the handler once: a
 * second call rejects INVALID_ARGUMENT. Notifications do not pass through interceptors.
 */
export type ServerInterceptor = (call: ServerCall, next: () => Promise<unknown>) => unknown;

/** The outcome a reply stands for: its result, or the error it reports, thrown. */
function outcomeOf(reply: IpcMessage): unknown {
  const p = reply.payload;
  if (p.type !== 'response') return null;
  if (p.success) return p.result;
  throw errorOfReply(p);
}

/**
 * The error a failure reply stands for, as the caller receives it: an IpcError when its code is
 * one of ours (AUTH, PROTOCOL, CAPACITY, …), else a RemoteError with that `remoteCode`.
 */
export function errorOfReply(p: ResponsePayload): IpcError {
  const code = p.code;
  if (typeof code === 'string' && code !== 'REMOTE' && code in IpcErrorCode) {
    return new IpcError(code as IpcErrorCode, p.error ?? 'remote error', { details: p.details });
  }
  return new RemoteError(p.error ?? 'remote error', {
    remoteCode: code,
    details: p.details,
    retryable: p.retryable,
    retryAfterMs: p.retryAfterMs,
  });
}

/**
 * Runs `inner` (the server's dispatch of `msg`) inside `interceptors`; resolves with the reply.
 * `reply` turns an error into its reply (rpc-server's errorResponse).
 */
export async function interceptServed(
  interceptors: readonly ServerInterceptor[],
  msg: RequestMessage,
  ctx: HandlerContext,
  inner: () => IpcMessage | Promise<IpcMessage>,
  errorReply: (id: string, err: unknown) => IpcMessage,
): Promise<IpcMessage> {
  const call: ServerCall = {
    id: msg.id,
    method: msg.payload.method,
    params: msg.payload.params,
    ctx,
    startedAt: performance.now(),
  };
  let ran = false;
  const step = async (i: number): Promise<unknown> => {
    if (i < interceptors.length) return interceptors[i]!(call, () => step(i + 1));
    if (ran) throw new IpcError('INVALID_ARGUMENT', `an interceptor called next() twice for ${call.method}`);
    ran = true;
    return outcomeOf(await inner());
  };
  try {
    const result = await step(0);
    return success(msg.id, result === undefined ? null : result);
  } catch (err) {
    return errorReply(msg.id, err);
  }
}

// ---- client ----

/** What a client call is: `stream` calls return an AsyncIterable from `next()`, the others a promise. */
export type ClientCallKind = 'request' | 'notify' | 'stream';

/** One call as a client interceptor sees it. Pass a changed copy to `next()` to change it. */
export interface ClientCall {
  readonly kind: ClientCallKind;
  readonly method: string;
  readonly params: unknown;
  readonly options: RequestOptions | undefined;
  /** Whether the method may run twice (per-call flag, else the contract's or the option's). */
  readonly idempotent: boolean;
  /** The client making the call (its state, url, reconnect policy). */
  readonly client: RpcClient<any>;
}

/** What `next()` gives back: a promise for `request` and `notify`, an AsyncIterable for `stream`. */
export type ClientOutcome = Promise<unknown> | AsyncIterable<unknown>;

/**
 * Runs around every `request`, `notify` (and `stream`) call of a client. Call `next()` (or
 * `next(changedCall)`: other params, options, e.g. auth metadata) to go on; return its outcome,
 * another value, or throw. For a `stream` call, return `next()`'s AsyncIterable (or one wrapping
 * it); a promise of one is accepted too. `next()` may be called again (a retry).
 */
export type ClientInterceptor = (call: ClientCall, next: (call?: ClientCall) => ClientOutcome) => unknown;

/** Runs `inner` inside `interceptors` for `call`; what the outermost returns, as is. */
export function interceptCall(
  interceptors: readonly ClientInterceptor[],
  call: ClientCall,
  inner: (call: ClientCall) => ClientOutcome,
): unknown {
  const step = (i: number, current: ClientCall): ClientOutcome => {
    if (i === interceptors.length) return inner(current);
    const out = interceptors[i]!(current, (changed) => step(i + 1, changed ?? current));
    return isAsyncIterable(out) ? out : Promise.resolve(out);
  };
  return step(0, call);
}

/** The outcome of a request or notify chain, as a promise (a synchronous throw rejects it). */
export function interceptPromise(
  interceptors: readonly ClientInterceptor[],
  call: ClientCall,
  inner: (call: ClientCall) => Promise<unknown>,
): Promise<unknown> {
  try {
    return Promise.resolve(interceptCall(interceptors, call, inner));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The outcome of a stream chain as an AsyncIterable, whether the chain gave one or a promise of one. */
export function interceptStream<T>(
  interceptors: readonly ClientInterceptor[],
  call: ClientCall,
  inner: (call: ClientCall) => AsyncIterable<T>,
): AsyncIterable<T> {
  let out: unknown;
  try {
    out = interceptCall(interceptors, call, inner);
  } catch (err) {
    out = Promise.reject(err);
  }
  if (isAsyncIterable(out)) return out as AsyncIterable<T>;
  return {
    async *[Symbol.asyncIterator]() {
      const iterable = await out;
      if (!isAsyncIterable(iterable))
        throw new IpcError(
          'INVALID_ARGUMENT',
          `an interceptor of stream ${call.method} returned no AsyncIterable`,
        );
      yield* iterable as AsyncIterable<T>;
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Promise) &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** Options of {@link retryIdempotent}. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** The backoff between attempts. Default: the client's reconnect policy (or the policy defaults). */
  backoff?: ReconnectOptions;
  /**
   * Which errors are worth another attempt. Default: CLOSED, CONNECT and TIMEOUT, and remote
   * errors marked `retryable` or with `remoteCode` CAPACITY.
   */
  retryOn?: (error: IpcError) => boolean;
}

const retryOptionNames = ['maxAttempts', 'backoff', 'retryOn'];

/** The default of {@link RetryOptions.retryOn}. */
export function isTransient(error: IpcError): boolean {
  if (error.code === 'CLOSED' || error.code === 'CONNECT' || error.code === 'TIMEOUT') return true;
  return error instanceof RemoteError && (error.retryable === true || error.remoteCode === 'CAPACITY');
}

/**
 * A client interceptor that sends a failed request again when its method is idempotent (the
 * contract's flag, the client's `idempotent` option, or the call's own) and the error is
 * transient, waiting between attempts as the reconnect policy does (full jitter, growing), or
 * a remote error's `retryAfterMs` when it gives one. Other calls, a closed client and an
 * aborted signal are not retried; the last error is the one thrown.
 * @throws IpcError INVALID_ARGUMENT for an unknown option or maxAttempts < 1.
 */
export function retryIdempotent(options: RetryOptions = {}): ClientInterceptor {
  for (const key of Object.keys(options)) {
    if (!retryOptionNames.includes(key))
      throw new IpcError('INVALID_ARGUMENT', `retryIdempotent: unknown option "${key}"`, {
        details: { option: key, known: retryOptionNames },
      });
  }
  const maxAttempts = options.maxAttempts ?? 3;
  if (!(maxAttempts >= 1))
    throw new IpcError('INVALID_ARGUMENT', 'retryIdempotent: maxAttempts must be >= 1', { details: options });
  const own = options.backoff ? new ReconnectPolicy(options.backoff) : undefined;
  const retryOn = options.retryOn ?? isTransient;
  return async (call, next) => {
    if (call.kind !== 'request' || !call.idempotent) return next();
    const policy = own ?? call.client.reconnectPolicy ?? new ReconnectPolicy();
    for (let attempt = 1; ; attempt++) {
      try {
        return await next();
      } catch (err) {
        const error = IpcError.from(err);
        const signal = call.options?.signal;
        if (attempt >= maxAttempts || !retryOn(error) || call.client.state === 'closed' || signal?.aborted)
          throw error;
        const hint = error instanceof RemoteError ? error.retryAfterMs : undefined;
        await sleep(hint ?? policy.delay(attempt - 1), signal);
      }
    }
  };
}
