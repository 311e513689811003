/**
 * A Link over the platform's WebSocket (browsers, Deno, Bun, Node 22+), for the browser build.
 * What the platform does not expose, it cannot do: no HTTP headers at the upgrade (a token goes
 * in the `bearer.` subprotocol), no HTTP status of a refused upgrade (CONNECT, never AUTH), no
 * ping frames (the heartbeat is the server's), no drain event (backpressure polls
 * `bufferedAmount`), and close codes limited to 1000 and 3000–4999 (an error closes with 4000
 * plus the RFC 6455 code closeCodeFor gives, e.g. 4009 for MESSAGE_TOO_LARGE; TIMEOUT with 4000,
 * as the gateway protocol asks). Messages larger than `maxMessageSize` are refused in both
 * directions: outgoing ones by send(), incoming ones by closing the link MESSAGE_TOO_LARGE.
 */
import {
  DEFAULT_LIMITS,
  type Frame,
  frameOver,
  frameSize,
  IpcError,
  type Link,
  type LinkHandler,
  tooLargeError,
} from '@openclaw-ipc/core';
import { bytesToBase64url } from './base64url.js';
import { CloseCode, closeCodeFor, errorForClose } from './close-codes.js';

/** Options of a platform WebSocket dial (`connectWsClient` in the browser build). */
export interface BrowserWsConnectOptions {
  /** Largest message sent or accepted, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Bytes in `bufferedAmount` above which send() returns a promise. Default 1 MiB. */
  highWaterMark?: number;
  /** Bytes in `bufferedAmount` above which the link closes CAPACITY. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Frames held before attach(); more close the link. Default 1024. */
  maxHeldFrames?: number;
  /** Milliseconds to wait for the upgrade. Default 10 000. */
  connectTimeout?: number;
  /** Token sent at the upgrade, as the subprotocol `bearer.<base64url(token)>` (browsers send no headers). */
  token?: string;
  /** Where the token goes: only 'protocol' exists in a browser (the default here). */
  tokenIn?: 'protocol';
  /** Subprotocols to offer. */
  protocols?: string[];
}

/** The close code a link whose peer went silent uses (the gateway protocol's 4000). */
const TIMEOUT_CLOSE = 4000;
/** How often a send over the high-water mark looks at `bufferedAmount` again, in ms. */
const DRAIN_POLL_MS = 10;

/** The code a browser may close with for `error` (1000 or 4000 + the RFC 6455 code's last three digits). */
export function browserCloseCode(error?: IpcError): number {
  if (!error) return CloseCode.NORMAL;
  if (error.code === 'TIMEOUT') return TIMEOUT_CLOSE;
  return 4000 + (closeCodeFor(error) % 1000);
}

/** The IpcError for a close the platform reports (codes 4000–4999 read back as the RFC 6455 ones). */
export function errorForBrowserClose(code: number, reason: string): IpcError | undefined {
  if (code === TIMEOUT_CLOSE) return new IpcError('TIMEOUT', `closed by peer (${code} ${reason})`);
  if (code > TIMEOUT_CLOSE && code < 5000) return errorForClose(1000 + (code % 1000), reason);
  if (code === 1006)
    return new IpcError('CLOSED', 'connection lost (1006)', { details: { closeCode: code } });
  return errorForClose(code, reason);
}

/** A close reason the platform accepts: printable ASCII, at most 120 bytes. */
const closeReason = (error: IpcError): string => error.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);

/**
 * A Link on one open platform WebSocket: text frames as strings, binary as Uint8Array; frames
 * that arrive before attach() are held (up to `maxHeldFrames`). connectBrowserWs makes one.
 */
export class BrowserWsLink implements Link {
  readonly transport = 'ws';
  readonly remoteAddress?: string;
  /** The subprotocol agreed at the upgrade ('' if none). */
  readonly protocol: string;
  private readonly maxPayload: number;
  private readonly highWaterMark: number;
  private readonly maxQueuedBytes: number;
  private readonly maxHeldFrames: number;
  private handler: LinkHandler | undefined;
  private held: Frame[] | undefined = [];
  private closed = false;
  private closeError: IpcError | undefined;
  private errored = false;
  private readonly drains = new Set<{ resolve: () => void; reject: (e: IpcError) => void }>();
  private drainTimer: ReturnType<typeof setTimeout> | undefined;

  /** Takes an open WebSocket (binaryType is set to 'arraybuffer'). */
  constructor(
    readonly socket: WebSocket,
    options: BrowserWsConnectOptions = {},
    remoteAddress?: string,
  ) {
    if (remoteAddress !== undefined) this.remoteAddress = remoteAddress;
    this.protocol = socket.protocol;
    this.maxPayload = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes;
    this.maxHeldFrames = options.maxHeldFrames ?? 1024;
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event: MessageEvent) => this.onMessage(event.data);
    socket.onerror = () => {
      this.errored = true;
    };
    socket.onclose = (event: CloseEvent) => {
      // The close event says why; the platform's 'error' event never does.
      this.closeError ??=
        errorForBrowserClose(event.code, event.reason) ??
        (this.errored ? new IpcError('CLOSED', 'websocket error') : undefined);
      this.finish();
    };
  }

  attach(handler: LinkHandler): void {
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.handler = handler;
    const held = this.held ?? [];
    this.held = undefined;
    for (const frame of held) handler.onFrame(frame);
    if (this.closed) handler.onClose(this.closeError);
  }

  send(frame: Frame): void | Promise<void> {
    if (this.closed || this.socket.readyState !== 1) throw new IpcError('CLOSED', 'websocket is not open');
    if (frameOver(frame, this.maxPayload)) throw tooLargeError(frameSize(frame), this.maxPayload, 'frame');
    const queued = this.socket.bufferedAmount;
    if (queued > this.maxQueuedBytes) {
      const error = new IpcError(
        'CAPACITY',
        `peer too slow: ${queued} bytes queued (max ${this.maxQueuedBytes})`,
        { details: { queued, maxQueuedBytes: this.maxQueuedBytes } },
      );
      this.close(error);
      throw error;
    }
    this.socket.send(frame as string | ArrayBufferView<ArrayBuffer>);
    if (this.socket.bufferedAmount <= this.highWaterMark) return;
    return new Promise((resolve, reject) => {
      this.drains.add({ resolve, reject });
      this.pollDrain();
    });
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    if (error) this.closeError ??= error;
    try {
      this.socket.close(browserCloseCode(error), error ? closeReason(error) : undefined);
    } catch {
      this.socket.close();
    }
    this.finish();
  }

  /** Bytes the platform has not sent yet. */
  get queuedBytes(): number {
    return this.socket.bufferedAmount;
  }

  private onMessage(data: unknown): void {
    if (this.closed) return;
    const frame: Frame = typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer);
    if (frameOver(frame, this.maxPayload)) {
      this.close(tooLargeError(frameSize(frame), this.maxPayload, 'frame'));
      return;
    }
    if (this.handler) {
      this.handler.onFrame(frame);
      return;
    }
    if (this.held && this.held.length < this.maxHeldFrames) this.held.push(frame);
    else this.close(new IpcError('CAPACITY', 'too many frames before the link was attached'));
  }

  private pollDrain(): void {
    if (this.drainTimer !== undefined) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (this.closed) return;
      if (this.socket.bufferedAmount > this.highWaterMark) return this.pollDrain();
      const waiting = [...this.drains];
      this.drains.clear();
      for (const w of waiting) w.resolve();
    }, DRAIN_POLL_MS);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    const error = this.closeError ?? new IpcError('CLOSED', 'link closed');
    for (const w of this.drains) w.reject(error);
    this.drains.clear();
    this.socket.onmessage = null;
    if (this.handler) this.handler.onClose(this.closeError);
  }
}

/** The subprotocol that carries `token` at the upgrade (`bearer.<base64url(token)>`). */
export const browserTokenProtocol = (token: string): string =>
  `bearer.${bytesToBase64url(new TextEncoder().encode(token))}`;

/**
 * Opens one platform WebSocket to `url` and resolves with its link once open. Rejects with
 * INVALID_ARGUMENT (a URL or subprotocol the platform refuses), CONNECT (nobody there, upgrade
 * refused: a browser does not say why), TIMEOUT or ABORTED.
 */
export function connectBrowserWs(
  url: string | URL,
  options: BrowserWsConnectOptions = {},
  signal?: AbortSignal,
): Promise<BrowserWsLink> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new IpcError('ABORTED', 'connect aborted'));
    if (options.tokenIn !== undefined && options.tokenIn !== 'protocol')
      return reject(
        new IpcError(
          'INVALID_ARGUMENT',
          'a browser sends no headers: the token can only go in the subprotocol',
        ),
      );
    const protocols = [...(options.protocols ?? [])];
    if (options.token !== undefined) {
      // A server picks one protocol, never the token's: offer a plain one beside it.
      if (protocols.length === 0) protocols.push('openclaw-ipc');
      protocols.push(browserTokenProtocol(options.token));
    }
    const href = String(url);
    let ws: WebSocket;
    try {
      ws = new WebSocket(href, protocols);
    } catch (cause) {
      return reject(new IpcError('INVALID_ARGUMENT', `cannot open a WebSocket to ${href}`, { cause }));
    }
    let settled = false;
    const timeout = options.connectTimeout ?? DEFAULT_LIMITS.connectTimeout;
    const timer = setTimeout(
      () => fail(new IpcError('TIMEOUT', `connect to ${href} timed out after ${timeout} ms`)),
      timeout,
    );
    const fail = (err: IpcError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.onopen = ws.onerror = ws.onclose = null;
      ws.close();
      reject(err);
    };
    const onAbort = () => fail(new IpcError('ABORTED', 'connect aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.onerror = () => fail(new IpcError('CONNECT', `cannot connect to ${href}`));
    ws.onclose = (event) =>
      fail(
        new IpcError('CONNECT', `cannot connect to ${href} (close ${event.code})`, {
          details: { closeCode: event.code },
        }),
      );
    ws.onopen = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.onopen = ws.onerror = ws.onclose = null;
      resolve(new BrowserWsLink(ws, options, href));
    };
  });
}
