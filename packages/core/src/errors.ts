/**
 * The error vocabulary of openclaw-ipc. Every failure that crosses a public boundary is an
 * `IpcError` with a stable `code` that callers can switch on; the message is for humans.
 */

/** Stable error codes. Never renamed; new ones may be added. */
export const IpcErrorCode = {
  /** The operation did not complete within its timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The link, socket, channel or server was closed (locally or by the peer). */
  CLOSED: 'CLOSED',
  /** The caller aborted the operation with an AbortSignal. */
  ABORTED: 'ABORTED',
  /** A value could not be encoded or a frame could not be decoded. */
  SERIALIZATION: 'SERIALIZATION',
  /** A message or frame is over the configured size limit. */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** The peer broke the protocol: malformed message, wrong shape, unexpected frame. */
  PROTOCOL: 'PROTOCOL',
  /** Authentication or authorisation failed. */
  AUTH: 'AUTH',
  /** A limit was reached: requests in flight, connections, queued bytes, sessions. */
  CAPACITY: 'CAPACITY',
  /** A connection pool has no free member and cannot grow. */
  POOL_EXHAUSTED: 'POOL_EXHAUSTED',
  /** The remote handler answered with an error (see RemoteError). */
  REMOTE: 'REMOTE',
  /** The transport or provider cannot work on this machine (the message says why). */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A connection could not be established. */
  CONNECT: 'CONNECT',
  /** An argument or option is invalid (a programming error of the caller). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /**
   * The connection's dialect or transport cannot carry what the call asks for (progress, a
   * streamed result); refused before anything is sent. See the table in docs/core.md.
   */
  UNSUPPORTED: 'UNSUPPORTED',
} as const;

export type IpcErrorCode = (typeof IpcErrorCode)[keyof typeof IpcErrorCode];

export interface IpcErrorOptions {
  cause?: unknown;
  /** Extra machine-readable context (limit values, addresses, the peer's details). */
  details?: unknown;
}

/** The one error class of openclaw-ipc. `code` is stable; see {@link IpcErrorCode}. */
export class IpcError extends Error {
  override name = 'IpcError';
  readonly code: IpcErrorCode;
  readonly details?: unknown;

  constructor(code: IpcErrorCode, message: string, options: IpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
  }

  /** True when `err` is an IpcError, optionally with the given code. */
  static is(err: unknown, code?: IpcErrorCode): err is IpcError {
    return err instanceof IpcError && (code === undefined || err.code === code);
  }

  /** Wraps any thrown value as an IpcError, keeping IpcErrors as they are. */
  static from(err: unknown, code: IpcErrorCode = 'PROTOCOL'): IpcError {
    if (err instanceof IpcError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new IpcError(code, message, { cause: err });
  }
}

export interface RemoteErrorInit {
  /** The peer's own code: a string (gateway, ours) or a number (JSON-RPC), when it sent one. */
  remoteCode?: string | number;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
  /** The request's method, for the message. */
  method?: string;
}

/**
 * The remote handler answered with an error. `code` is always REMOTE; `remoteCode` carries
 * the peer's own code (e.g. 'FORBIDDEN', -32601) and `details` its details.
 */
export class RemoteError extends IpcError {
  override name = 'RemoteError';
  readonly remoteCode?: string | number;
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly method?: string;

  constructor(message: string, init: RemoteErrorInit = {}) {
    super('REMOTE', message, { details: init.details });
    if (init.remoteCode !== undefined) this.remoteCode = init.remoteCode;
    if (init.retryable !== undefined) this.retryable = init.retryable;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.method !== undefined) this.method = init.method;
  }
}

/** Shorthands used throughout the packages. */
export const closedError = (what = 'link'): IpcError => new IpcError('CLOSED', `${what} closed`);
export const timeoutError = (what: string, ms: number): IpcError =>
  new IpcError('TIMEOUT', `${what} timed out after ${ms} ms`, { details: { timeoutMs: ms } });
export const abortedError = (reason?: unknown): IpcError =>
  new IpcError('ABORTED', 'operation aborted', { cause: reason });
export const tooLargeError = (size: number, limit: number, what = 'message'): IpcError =>
  new IpcError('MESSAGE_TOO_LARGE', `${what} of ${size} bytes is over the limit of ${limit} bytes`, {
    details: { size, limit },
  });
