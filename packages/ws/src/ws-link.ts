/**
 * A Link over one `ws` WebSocket. Messages arrive through ws's public 'message' event (text as
 * strings, binary as bytes). Outgoing data frames are encoded here (FrameBatch, RFC 6455) and
 * leave in a few writes on the socket per tick: the first as soon as it holds half as many frames
 * as the previous tick sent (firstWriteOfTick; the first frame when that tick sent one), then
 * one per FLUSH_EVERY frames, the rest at the end of the tick. ws frames them itself
 * (`ws.send`) when the link has no socket of its own, with permessage-deflate, for large
 * frames and over the high-water mark. Between two openclaw-ipc ends that agreed at the upgrade,
 * the text frames of a tick are packed into one message (coalesce.ts). The queue of unwritten
 * bytes is bounded (backpressure.ts);
 * before authentication a smaller frame limit holds (pre-auth-limit.ts); close codes are in
 * close-codes.ts. With the opt-in `fastPath`, internals.ts reads and writes frames through
 * private parts of Node and ws instead.
 */
import type { Socket } from 'node:net';
import {
  DEFAULT_LIMITS,
  type Frame,
  frameOver,
  frameSize,
  IpcError,
  type Link,
  type LinkHandler,
  TickSlices,
  tooLargeError,
} from '@openclaw-ipc/core';
import type { RawData, WebSocket } from 'ws';
import { SendBackpressure } from './backpressure.js';
import { closeCodeFor, errorForClose, errorForWsError } from './close-codes.js';
import { isPacked, pack, packable, unpack } from './coalesce.js';
import { FrameBatch } from './frame-batch.js';
import { type DirectWriter, enableFastPath, internalsDisabled } from './internals.js';
import { PreAuthLimit } from './pre-auth-limit.js';

export { CloseCode, closeCodeFor, errorForClose } from './close-codes.js';

export interface WsLinkOptions {
  /** Largest message (frame) accepted or sent after authentication, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Queued outgoing bytes above which send() reports backpressure. Default 1 MiB. */
  highWaterMark?: number;
  /** Queued outgoing bytes above which the peer is disconnected (CAPACITY). Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Frames held before attach(); more close the link. Default 1024. */
  maxHeldFrames?: number;
  /**
   * Opt in to the fast path of internals.ts: frames read before ws's Receiver and the socket's
   * reads and writes made on its handle, through private parts of Node and ws (probed; what is
   * missing is left off). Under `--pending-deprecation` the parts that need `process.binding`
   * stay off. The environment variable OPENCLAW_IPC_NO_INTERNALS=1 turns it off whatever this
   * says. Default false: public APIs only.
   */
  fastPath?: boolean;
  /**
   * Coalesce: when the peer is openclaw-ipc and agrees at the upgrade, the text frames sent in
   * one tick leave as one WebSocket message (a JSON text sequence, coalesce.ts), which saves
   * both ends ws's work per message. Public APIs only. Peers that are not openclaw-ipc never
   * see it. Default true.
   */
  coalesce?: boolean;
}

/** How a link was made: by a listener (server side) or by connectWs (client side). */
export interface WsLinkInit {
  /**
   * Shown as the link's `remoteAddress`. Without it a server's link reads the peer's address from
   * `socket` when first asked, instead of keeping a string per connection from the start.
   */
  remoteAddress?: string;
  /** Whether the peer has authenticated already. Default true. */
  authenticated?: boolean;
  /**
   * The socket under the WebSocket, from the upgrade (http's 'upgrade' event on a server, ws's
   * 'upgrade' event's response on a client). With it the link writes its own frames in batches;
   * without it every message goes through `ws.send`.
   */
  socket?: Socket;
  /** Which end this is: a client masks its frames (RFC 6455 §5.3). Default 'client'. */
  side?: 'client' | 'server';
  /**
   * Called once the WebSocket has closed (ws's 'close' event), after the handler's onClose: a
   * listener forgets the link here. One function can serve every link of a listener.
   */
  onSocketClose?: (link: WsLink) => void;
  /**
   * Largest message while not authenticated, enforced by the link: at the frame headers when
   * `socket` is given, and on every message ws delivers (decompressed, with permessage-deflate);
   * ws enforces `maxPayload`. Default: no separate limit.
   */
  maxPreAuthPayload?: number;
  /**
   * The largest message the peer accepts, as it said at the upgrade when both ends agreed to
   * coalesce (coalesce.ts); undefined: no coalescing on this link.
   */
  coalesceWith?: number;
}

/**
 * Frames batched before the socket is written even within one tick: a whole burst written at the
 * end of the tick would make the peer wait for all of it, slices let it start on the first ones.
 */
const FLUSH_EVERY = 16;
/** Larger frames (UTF-16 units or bytes) go through ws.send, after the batch. */
const MAX_BATCHED = 16 * 1024;
/**
 * UTF-16 units of frames coalesced into one message at most (and at most a third of what the
 * peer accepts, three bytes being the most one unit takes in UTF-8).
 */
const MAX_PACKED = 16 * 1024;
const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

/**
 * The link of a WebSocket, kept on the socket under a symbol of ours: the socket's listeners are
 * WsLink's static functions (`this` is the socket), the same for every link, instead of four
 * closures per link.
 */
const LINK = Symbol('openclaw-ipc.WsLink');
const linkOf = (socket: WebSocket): WsLink => (socket as WebSocket & { [LINK]: WsLink })[LINK];

export class WsLink implements Link {
  readonly transport = 'ws';
  /** The peer's address, or the socket to read it from when first asked. */
  private peer: string | Socket | undefined;
  /** True once the peer has proved it knows the token (at the upgrade or by `authenticate`). */
  authenticated: boolean;
  /** The subprotocol agreed at the upgrade ('' if none). */
  readonly protocol: string;
  /** Whether the opt-in fast path (internals.ts) is on for this link. */
  readonly fastPath: boolean;
  private readonly maxPayload: number;
  private readonly maxHeldFrames: number;
  private readonly highWaterMark: number;
  private readonly maxQueuedBytes: number;
  /** Made when a send first goes over the high-water mark. */
  private backpressure: SendBackpressure | undefined;
  private readonly socketClosed: ((link: WsLink) => void) | undefined;
  private handler: LinkHandler | undefined;
  private held: Frame[] | undefined = [];
  private closed = false;
  private closeError: IpcError | undefined;
  /** The socket under the WebSocket when the link writes its own frames. */
  private readonly stream: Socket | undefined;
  /** Frames encoded here and written in slices of a tick; undefined when ws must frame them itself. */
  private readonly batch: FrameBatch | undefined;
  private flushPending = false;
  /**
   * When the frames of this tick are written: the first half of the previous tick's count at
   * once, then every FLUSH_EVERY. Measured over two processes with 64 B requests between two ends
   * of ours (interleaved runs, medians of 5): 4 in flight about twice the requests per second,
   * 16 in flight +40 %, 64 and 256 in flight unchanged within the noise; one at a time, as
   * before (the first frame of a tick after a tick of one leaves at once).
   */
  private readonly slices = new TickSlices(FLUSH_EVERY);
  /**
   * Coalescing: the largest message of packed frames in UTF-16 units (0: off), the text frames
   * of this tick not yet packed, and their length.
   */
  private readonly packLimit: number;
  private packing: string[] | undefined;
  private packedUnits = 0;
  /** Writes on the socket's handle (fast path only). */
  private readonly direct: DirectWriter | undefined;
  /** The frame limit until the peer authenticates (undefined: none, or authenticated). */
  private preAuthLimit: number | undefined;
  private preAuth: PreAuthLimit | undefined;
  /** Set by the heartbeat: a pong (or any frame) arrived since the last ping. */
  alive = true;

  constructor(
    readonly socket: WebSocket,
    options: WsLinkOptions = {},
    init: WsLinkInit = {},
  ) {
    this.peer = init.remoteAddress ?? (init.side === 'server' ? init.socket : undefined);
    this.authenticated = init.authenticated ?? true;
    this.protocol = socket.protocol;
    this.maxPayload = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.maxHeldFrames = options.maxHeldFrames ?? 1024;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes;
    this.socketClosed = init.onSocketClose;
    const upgraded = socket.readyState === 1 ? init.socket : undefined;
    const stream = socket.extensions === '' ? upgraded : undefined;
    const isServer = init.side === 'server';
    const fast =
      stream && options.fastPath === true && !internalsDisabled()
        ? enableFastPath(
            { deliver: (frame) => this.deliver(frame), frameLimit: () => this.frameLimit },
            socket,
            stream,
            isServer,
          )
        : undefined;
    this.fastPath = fast !== undefined;
    this.stream = stream;
    this.direct = fast?.writer;
    if (stream) this.batch = new FrameBatch(!isServer, fast?.utf8);
    // coalesceWith is given only when both ends agreed (their `coalesce` options included).
    this.packLimit =
      stream && init.coalesceWith !== undefined
        ? Math.min(MAX_PACKED, Math.floor(Math.min(init.coalesceWith, this.maxPayload) / 3))
        : 0;
    const preAuthLimit = init.maxPreAuthPayload;
    if (!this.authenticated && preAuthLimit !== undefined && preAuthLimit < this.maxPayload) {
      this.preAuthLimit = preAuthLimit;
      // At the frame headers on the wire (compressed sizes with permessage-deflate); onMessage
      // checks what ws delivers (decompressed) too.
      if (upgraded)
        this.preAuth = new PreAuthLimit(
          upgraded,
          preAuthLimit,
          (size) => this.tooLargeBeforeAuth(size),
          () => socket.terminate(),
        );
    }
    (socket as WebSocket & { [LINK]: WsLink })[LINK] = this;
    socket.on('message', WsLink.onSocketMessage);
    socket.on('pong', WsLink.onSocketPong);
    socket.on('error', WsLink.onSocketError);
    socket.on('close', WsLink.onSocketClose);
  }

  private static onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    // biome-ignore lint/complexity/noThisInStatic: ws calls a listener with the socket as `this`
    linkOf(this).onMessage(data, isBinary);
  }

  private static onSocketPong(this: WebSocket): void {
    // biome-ignore lint/complexity/noThisInStatic: ws calls a listener with the socket as `this`
    linkOf(this).alive = true;
  }

  /** ws's 'error' event: the reason the link closes, unless it had one. */
  private static onSocketError(this: WebSocket, err: Error & { code?: string }): void {
    // biome-ignore lint/complexity/noThisInStatic: ws calls a listener with the socket as `this`
    const link = linkOf(this);
    link.closeError ??= errorForWsError(err);
  }

  /** ws's 'close' event. */
  private static onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
    // biome-ignore lint/complexity/noThisInStatic: ws calls a listener with the socket as `this`
    const link = linkOf(this);
    link.closeError ??= errorForClose(code, reason.toString());
    link.preAuth?.remove();
    link.finish();
    link.socketClosed?.(link);
  }

  /**
   * `host:port` of the peer (a client's link: the URL it dialled). A server's link reads it from
   * the socket at the first ask, or when it closes the link itself; one the peer closed before
   * anyone asked has none.
   */
  get remoteAddress(): string | undefined {
    const peer = this.peer;
    if (peer === undefined || typeof peer === 'string') return peer;
    if (peer.remoteAddress === undefined) return undefined;
    this.peer = `${peer.remoteAddress}:${peer.remotePort}`;
    return this.peer;
  }

  /** Marks the link authenticated: frames up to `maxPayload` are accepted from now on. */
  markAuthenticated(): void {
    this.authenticated = true;
    this.preAuthLimit = undefined;
    this.preAuth?.remove();
    this.preAuth = undefined;
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
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const ws = this.socket;
    if (ws.readyState !== 1) throw new IpcError('CLOSED', 'websocket is not open');
    if (frameOver(frame, this.maxPayload)) throw tooLargeError(frameSize(frame), this.maxPayload, 'frame');
    const batch = this.batch;
    const queued = this.queuedBytes + (batch ? batch.size + this.packedUnits : 0);
    if (queued <= this.highWaterMark) {
      const size = typeof frame === 'string' ? frame.length : frame.byteLength;
      if (batch && size <= MAX_BATCHED) {
        if (typeof frame === 'string' && size + 2 <= this.packLimit && packable(frame)) {
          if (this.packedUnits + size + 2 > this.packLimit) this.closePack();
          (this.packing ??= []).push(frame);
          this.packedUnits += size + 2;
        } else {
          this.closePack();
          batch.add(frame);
        }
        if (!this.flushPending) {
          this.flushPending = true;
          process.nextTick(WsLink.flushTick, this);
        }
        if (this.slices.add(batch.count + (this.packing ? this.packing.length : 0))) this.flush();
        return;
      }
      this.flush();
      ws.send(frame, typeof frame === 'string' ? TEXT : BINARY);
      return;
    }
    const backpressure = (this.backpressure ??= new SendBackpressure(
      this.highWaterMark,
      this.maxQueuedBytes,
      () => ws.bufferedAmount,
    ));
    const error = backpressure.overLimit(queued);
    if (error) {
      this.close(error);
      throw error;
    }
    // Over the mark: the callback of this write runs once everything before it has left.
    this.flush();
    return backpressure.wait((done) => ws.send(frame, typeof frame === 'string' ? TEXT : BINARY, done));
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    if (error) this.closeError ??= error;
    // Read while the socket is still open: observers of the close may ask for it.
    if (typeof this.peer === 'object') void this.remoteAddress;
    const ws = this.socket;
    if (ws.readyState === 1) this.flush();
    if (error && (error.code === 'CAPACITY' || error.code === 'TIMEOUT')) ws.terminate();
    else if (ws.readyState === 0) ws.terminate();
    else ws.close(closeCodeFor(error), error ? error.message.slice(0, 120) : undefined);
    this.finish();
  }

  /** Sends a ping (heartbeat). */
  ping(): void {
    if (!this.closed && this.socket.readyState === 1) this.socket.ping();
  }

  /** Bytes waiting to be written (not counting frames batched in this tick). */
  get queuedBytes(): number {
    return this.socket.bufferedAmount + (this.direct ? this.direct.pendingBytes : 0);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.preAuthLimit !== undefined) {
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
      if (size > this.preAuthLimit) {
        this.tooLargeBeforeAuth(size);
        return;
      }
    }
    let frame: Frame;
    // toString() without arguments is Buffer's unchecked UTF-8 reader (ws has validated it).
    if (Buffer.isBuffer(data)) frame = isBinary ? data : data.toString();
    else if (Array.isArray(data)) frame = isBinary ? Buffer.concat(data) : Buffer.concat(data).toString();
    else frame = isBinary ? new Uint8Array(data) : Buffer.from(data).toString();
    this.deliver(frame);
  }

  /** The largest frame accepted at this moment (smaller before authentication). */
  private get frameLimit(): number {
    return this.preAuthLimit ?? this.maxPayload;
  }

  private tooLargeBeforeAuth(size: number): void {
    this.close(tooLargeError(size, this.preAuthLimit ?? 0, 'frame before authentication'));
  }

  /** Hands a message read from the peer to the handler, frame by frame when it is coalesced. */
  private deliver(frame: Frame): void {
    if (this.packLimit > 0 && typeof frame === 'string' && isPacked(frame)) {
      for (const one of unpack(frame)) this.deliverOne(one);
      return;
    }
    this.deliverOne(frame);
  }

  /** Hands a frame read from the peer to the handler (or holds it until attach). */
  private deliverOne(frame: Frame): void {
    this.alive = true;
    if (this.closed) return;
    if (this.handler) {
      this.handler.onFrame(frame);
      return;
    }
    if (this.held && this.held.length < this.maxHeldFrames) this.held.push(frame);
    else this.close(new IpcError('CAPACITY', 'too many frames before the link was attached'));
  }

  /** Writes the frames batched so far (before anything ws itself writes, to keep the order). */
  private flush(): void {
    this.closePack();
    const out = this.batch?.take();
    if (out === undefined) return;
    const stream = this.stream!;
    if (this.socket.readyState !== 1 || stream.destroyed) return;
    if (!this.direct?.write(out)) stream.write(out);
  }

  /** Adds the frames packed so far to the batch, as one message. */
  private closePack(): void {
    const frames = this.packing;
    if (frames === undefined) return;
    this.packing = undefined;
    this.packedUnits = 0;
    this.batch!.add(pack(frames));
  }

  /** The end of a tick that batched frames: one function for every link, not a closure each. */
  private static flushTick(link: WsLink): void {
    link.flushPending = false;
    link.slices.end();
    link.flush();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.backpressure?.rejectAll();
    if (this.handler) this.handler.onClose(this.closeError);
  }
}
