/**
 * NngSocket: the base of every protocol class. It owns one native socket, turns the addon's
 * completions into promises, maps nng errors to IpcError, and settles every pending promise
 * with CLOSED when it is closed.
 */
import { createPrivateKey } from 'node:crypto';
import {
  abortedError,
  closedError,
  DEFAULT_LIMITS,
  frameOver,
  frameSize,
  IpcError,
  optionalPem,
  type PemSource,
  type SocketAccessOptions,
  timeoutError,
  tooLargeError,
} from '@openclaw-ipc/core';
import {
  fromNative,
  NNG_ECANCELED,
  NNG_ECLOSED,
  NNG_ECONNRESET,
  NNG_ECONNSHUT,
  NNG_ETIMEDOUT,
  nngError,
} from './errors.js';
import {
  addon,
  EV_DONE,
  EV_PIPE,
  EV_REQUEST,
  type NativeOwner,
  type NativeSocket,
  tlsEngine,
} from './native.js';
import { listenAccess, optionSpec, optionValue, type SocketOptions, toDuration } from './options.js';

/** What can be sent: bytes, or a string written as UTF-8 (no intermediate Buffer). */
export type Payload = Uint8Array | string;

/** Options of one operation. */
export interface OperationOptions {
  /** Milliseconds before TIMEOUT; undefined: the socket's default; -1/Infinity: never. */
  timeout?: number;
  /** Aborting rejects with ABORTED and cancels the operation in nng. */
  signal?: AbortSignal;
}

/** TLS settings for tls+tcp:// and wss:// endpoints: PEM text, or the path of a PEM file. */
export interface TlsOptions {
  /** Own certificate chain (a server needs one; a client for mutual authentication). */
  cert?: PemSource;
  /** Private key of `cert`. */
  key?: PemSource;
  /** Passphrase of an encrypted `key` (any PEM encryption Node's OpenSSL reads). */
  passphrase?: string;
  /** CA chain used to verify the peer (a server with `auth: 'required'` verifies clients with it). */
  ca?: PemSource;
  /** Name the client expects in the server's certificate. */
  serverName?: string;
  /** Peer verification: 'none', 'optional' or 'required' (nng's default: required for clients). */
  auth?: 'none' | 'optional' | 'required';
}

/** Options of {@link NngSocket.dial}. */
export interface SocketDialOptions {
  /**
   * Wait for the first connection (default true): rejects CONNECT when nobody is there. With
   * false the dial returns at once and nng connects (and reconnects) in the background.
   */
  block?: boolean;
  /** Blocking dial only: milliseconds before TIMEOUT. Default: none (the OS decides). */
  timeout?: number;
  signal?: AbortSignal;
  tls?: TlsOptions;
}

/** Options of {@link NngSocket.listen}: TLS and who may connect. */
export interface SocketListenOptions extends SocketAccessOptions {
  tls?: TlsOptions;
  /**
   * Refused with INVALID_ARGUMENT on ws:// and wss://: nng's ws listener cannot check a browser's
   * Origin (docs/security.md). Named here so the mistake is an error, not silence.
   */
  allowedOrigins?: readonly string[];
}

/** A pipe (one connection) was added to or removed from the socket. */
export interface PipeEvent {
  type: 'add' | 'remove';
  pipe: number;
}

/** An endpoint made by dial() or listen(); close() stops it (its pipes close). */
export interface Endpoint {
  readonly id: number;
  /** The address; for a listener on port 0, with the port it really bound. */
  readonly url: string;
  close(): void;
}

interface PendingOp {
  resolve(value: unknown): void;
  reject(error: IpcError): void;
  what: string;
  /** The error to report when nng reports ECANCELED (timeout, abort, lost connection). */
  cancelledWith?: IpcError;
  cleanup?: () => void;
}

const authModes = { none: 0, optional: 1, required: 2 } as const;

function nativeTls(tls: TlsOptions | undefined, url: string): object | undefined {
  const secure = url.startsWith('tls+') || url.startsWith('wss');
  if (!secure) return undefined;
  if (tlsEngine() === 'none') {
    throw new IpcError('UNAVAILABLE', `${url}: this libnng was built without TLS (engine "none")`);
  }
  if (!tls) return undefined;
  if ((tls.cert === undefined) !== (tls.key === undefined))
    throw new IpcError('INVALID_ARGUMENT', `${url}: tls.cert and tls.key go together`);
  return {
    cert: optionalPem(tls.cert, 'tls.cert'),
    key: decryptedKey(optionalPem(tls.key, 'tls.key'), tls.passphrase),
    ca: optionalPem(tls.ca, 'tls.ca'),
    serverName: tls.serverName,
    authMode: tls.auth === undefined ? undefined : authModes[tls.auth],
  };
}

/**
 * The PEM of `key` decrypted with `passphrase` (by Node's OpenSSL, which reads every encrypted
 * PEM form: PKCS#8 with any PRF, traditional), so the passphrase never reaches the addon and the
 * key format is not limited by Mbed TLS's parser. Throws INVALID_ARGUMENT for a wrong passphrase.
 */
function decryptedKey(key: string | undefined, passphrase: string | undefined): string | undefined {
  if (key === undefined || passphrase === undefined) return key;
  try {
    return createPrivateKey({ key, format: 'pem', passphrase }).export({
      format: 'pem',
      type: 'pkcs8',
    }) as string;
  } catch (err) {
    throw new IpcError(
      'INVALID_ARGUMENT',
      `tls.key: cannot decrypt it with this passphrase (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

/**
 * A TLS dial the server cut during the handshake (ECONNSHUT, ECONNRESET) is, when the server is
 * up, a server refusing this client's certificate or its absence: the message says so.
 */
function tlsDialError(err: unknown): unknown {
  const errno = (err as IpcError).details as { errno?: number } | undefined;
  if (!(err instanceof IpcError) || (errno?.errno !== NNG_ECONNSHUT && errno?.errno !== NNG_ECONNRESET))
    return err;
  return new IpcError(
    err.code,
    `${err.message}: the server closed the connection during the TLS handshake (a server that requires a client certificate closes on a client without one it trusts: see tls.cert, tls.key)`,
    { cause: err, details: err.details },
  );
}

/** The base of every nng protocol socket. Not constructed directly: use a protocol class. */
export class NngSocket implements NativeOwner, AsyncIterable<Buffer> {
  protected readonly native: NativeSocket;
  private readonly pending: (PendingOp | undefined)[] = [];
  private readonly pipeListeners = new Set<(event: PipeEvent) => void>();
  private readonly livePipes = new Set<number>();
  private _closed = false;
  /** The JS side of maxMessageSize: outgoing messages are checked against it. */
  private maxMessageSize: number = DEFAULT_LIMITS.maxMessageSize;

  constructor(
    /** The nng protocol name, e.g. 'req0'. */
    readonly protocol: string,
    options: SocketOptions = {},
  ) {
    const { Socket } = addon();
    try {
      this.native = new Socket(protocol);
    } catch (err) {
      throw fromNative(err, `open ${protocol} socket`);
    }
    this.native.owner = this;
    try {
      this.set({ maxMessageSize: DEFAULT_LIMITS.maxMessageSize, ...options });
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this._closed;
  }

  /** Pipes (connections) currently attached. */
  get pipes(): number {
    return this.livePipes.size;
  }

  /** Sets socket options (see {@link SocketOptions}). @throws IpcError INVALID_ARGUMENT, CLOSED */
  set(options: SocketOptions): this {
    for (const [key, value] of Object.entries(options)) {
      if (value === undefined) continue;
      const spec = optionSpec(key);
      this.setRaw(spec.name, spec.type, optionValue(spec, key, value));
      // Checked on send by this class; nng's recv-size-max bounds what is received.
      if (key === 'maxMessageSize') this.maxMessageSize = value as number;
    }
    return this;
  }

  /** Reads one option by its key in {@link SocketOptions}. */
  get<K extends keyof SocketOptions>(key: K): SocketOptions[K] {
    if (key === 'maxMessageSize') return this.maxMessageSize as SocketOptions[K];
    const spec = optionSpec(key);
    try {
      return this.native.getOpt(spec.name, spec.type) as SocketOptions[K];
    } catch (err) {
      throw fromNative(err, `get ${key}`);
    }
  }

  /** Sets an nng option by its nng name (escape hatch for options without a typed key). */
  protected setRaw(name: string, type: number, value: unknown): void {
    try {
      this.native.setOpt(name, type, value);
    } catch (err) {
      throw fromNative(err, `set ${name}`);
    }
  }

  /**
   * Listens on `url` (ipc://, tcp://, ws://, inproc://, tls+tcp://). Binding is local and
   * completes at once. An ipc:// socket gets mode `socketMode` (0600 by default, whatever the
   * umask: nng sets it between bind() and listen()) in a folder checked as the unix transport's.
   * @throws IpcError CONNECT (address in use), INVALID_ARGUMENT, AUTH (an unsafe socket folder),
   *   UNAVAILABLE
   */
  listen(url: string, options: SocketListenOptions = {}): Endpoint {
    this.assertOpen();
    const tls = nativeTls(options.tls, url);
    const access = listenAccess(url, options);
    let id: number;
    try {
      id = this.native.listen(url, tls, access.ipcPermissions);
    } catch (err) {
      throw fromNative(err, `listen ${url}`);
    }
    return {
      id,
      url: withBoundPort(url, this.native.boundPort(id)),
      close: () => this.native.closeEndpoint(id, true),
    };
  }

  /**
   * Dials `url`. Blocking (default): resolves once connected, rejects CONNECT when refused,
   * TIMEOUT or ABORTED. Non-blocking: resolves at once; nng connects in the background.
   */
  async dial(url: string, options: SocketDialOptions = {}): Promise<Endpoint> {
    this.assertOpen();
    const tls = nativeTls(options.tls, url);
    const block = options.block ?? true;
    let result: number;
    try {
      result = this.native.dial(url, block, tls);
    } catch (err) {
      throw fromNative(err, `dial ${url}`);
    }
    let id = result;
    if (block) {
      try {
        id = (await this.track(result, `dial ${url}`, {
          signal: options.signal,
          jsTimeout: options.timeout,
        })) as number;
      } catch (err) {
        throw tls ? tlsDialError(err) : err;
      }
    }
    return { id, url, close: () => this.native.closeEndpoint(id, false) };
  }

  /** Observes pipe (connection) additions and removals; returns the unsubscriber. */
  onPipe(listener: (event: PipeEvent) => void): () => void {
    this.pipeListeners.add(listener);
    return () => this.pipeListeners.delete(listener);
  }

  /**
   * Sends one message (protocols that send at socket level). Resolves when nng has queued it.
   * Rejects TIMEOUT, ABORTED, CLOSED, PROTOCOL (ESTATE: not allowed in this state).
   */
  send(data: Payload, options: OperationOptions = {}): Promise<void> {
    if (this._closed) return Promise.reject(closedError('nng socket'));
    const over = this.checkSize(data);
    if (over) return Promise.reject(over);
    let token: number;
    try {
      token = this.native.send(data, toTimeout(options.timeout));
    } catch (err) {
      return Promise.reject(fromNative(err, 'send'));
    }
    return this.track(token, 'send', { signal: options.signal }) as Promise<void>;
  }

  /** Receives one message. Rejects TIMEOUT, ABORTED, CLOSED. */
  recv(options: OperationOptions = {}): Promise<Buffer> {
    if (this._closed) return Promise.reject(closedError('nng socket'));
    let token: number;
    try {
      token = this.native.recv(toTimeout(options.timeout));
    } catch (err) {
      return Promise.reject(fromNative(err, 'recv'));
    }
    return this.track(token, 'recv', { signal: options.signal }) as Promise<Buffer>;
  }

  /** Messages as they arrive, until the socket closes (then the iteration ends). */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    while (!this._closed) {
      try {
        yield await this.recv({ timeout: -1 });
      } catch (err) {
        if (IpcError.is(err, 'CLOSED')) return;
        throw err;
      }
    }
  }

  /**
   * Closes the socket: every pending operation rejects CLOSED at once; the addon frees the
   * native resources as nng returns them. Safe to call more than once.
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.native.close();
    const error = closedError('nng socket');
    for (let t = 0; t < this.pending.length; t++) {
      const op = this.pending[t];
      if (!op) continue;
      this.pending[t] = undefined;
      op.cleanup?.();
      op.reject(error);
    }
    this.onClosed();
  }

  /** Called once after close(); protocol classes release what they hold. */
  protected onClosed(): void {}

  /** @internal Completions from the addon. */
  onNative(kind: number, token: number, errno: number, value: unknown): void {
    // Small messages come as an ArrayBuffer (cheaper to make in the addon than a Buffer).
    if (value instanceof ArrayBuffer) value = Buffer.from(value);
    if (kind === EV_DONE) {
      const op = this.pending[token];
      if (!op) return; // already settled by close()
      this.pending[token] = undefined;
      op.cleanup?.();
      if (errno === 0) op.resolve(value);
      else if (op.cancelledWith && (errno === NNG_ECANCELED || errno === NNG_ECLOSED))
        op.reject(op.cancelledWith);
      else op.reject(this.mapError(errno, op.what));
    } else if (kind === EV_REQUEST) {
      this.onRequest(token, value as Buffer);
    } else if (kind === EV_PIPE) {
      this.onPipeEvent(token, value === 1 ? 'add' : 'remove');
    }
  }

  /** The IpcError of a failed operation; protocol classes refine it. */
  protected mapError(errno: number, what: string): IpcError {
    return nngError(errno, what);
  }

  /** A request arrived on serving context `token` (REP and RESPONDENT only). */
  protected onRequest(token: number, _data: Buffer): void {
    this.native.drop(token);
  }

  protected onPipeEvent(pipe: number, type: 'add' | 'remove'): void {
    if (type === 'add') this.livePipes.add(pipe);
    else this.livePipes.delete(pipe);
    for (const listener of [...this.pipeListeners]) listener({ type, pipe });
  }

  /** Cancels every operation in flight with `error` (e.g. the connection they used is gone). */
  protected cancelAll(error: IpcError, filter: (what: string) => boolean = () => true): void {
    for (let t = 0; t < this.pending.length; t++) {
      const op = this.pending[t];
      if (!op || !filter(op.what)) continue;
      op.cancelledWith = error;
      this.native.cancel(t);
    }
  }

  /** MESSAGE_TOO_LARGE when `data` is over maxMessageSize, else undefined. */
  protected checkSize(data: Payload): IpcError | undefined {
    if (this.maxMessageSize > 0 && frameOver(data, this.maxMessageSize)) {
      return tooLargeError(frameSize(data), this.maxMessageSize);
    }
    return undefined;
  }

  protected assertOpen(): void {
    if (this._closed) throw closedError('nng socket');
  }

  /** Turns a started native operation into a promise; wires its signal and JS-side timeout. */
  protected track(
    token: number,
    what: string,
    options: { signal?: AbortSignal; jsTimeout?: number } = {},
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const op: PendingOp = { resolve, reject, what };
      const { signal, jsTimeout } = options;
      if (jsTimeout !== undefined && jsTimeout > 0 && Number.isFinite(jsTimeout)) {
        const timer = setTimeout(() => {
          op.cancelledWith = timeoutError(what, jsTimeout);
          this.native.cancel(token);
        }, jsTimeout);
        op.cleanup = () => clearTimeout(timer);
      }
      if (signal) {
        const onAbort = () => {
          op.cancelledWith = abortedError(signal.reason);
          this.native.cancel(token);
        };
        if (signal.aborted) queueMicrotask(onAbort);
        else {
          signal.addEventListener('abort', onAbort, { once: true });
          const previous = op.cleanup;
          op.cleanup = () => {
            previous?.();
            signal.removeEventListener('abort', onAbort);
          };
        }
      }
      this.pending[token] = op;
    });
  }
}

/** The addon's timeout argument: -2 the socket default, -1 never, else milliseconds. */
export function toTimeout(ms: number | undefined): number {
  if (ms === undefined) return -2;
  return toDuration(ms);
}

/** Whether an error is nng's ETIMEDOUT, which survey rounds use to say "the survey is over". */
export const isTimeout = (err: unknown): boolean =>
  IpcError.is(err, 'TIMEOUT') && (err.details as { errno?: number } | undefined)?.errno === NNG_ETIMEDOUT;

/** `url` with port 0 replaced by the port a listener bound (tcp://, ws://, tls+tcp://). */
export function withBoundPort(url: string, port: number): string {
  if (!port) return url;
  return url.replace(/^([a-z0-9+]+:\/\/(?:\[[^\]]*\]|[^/:]*)):0(?=\/|$)/i, `$1:${port}`);
}
