/**
 * A Link over one `ws` WebSocket. Text frames arrive as strings, binary frames as bytes; whole
 * unfragmented data frames are read here (FrameReader) before ws's Receiver sees them.
 * Outgoing frames are encoded here (FrameBatch) and leave in one socket write per tick, or per
 * FLUSH_EVERY frames in a burst; after a tick with a single frame the next one's first frame is
 * written at once. With permessage-deflate negotiated ws frames them. The queue of unwritten
 * bytes (ws `bufferedAmount` plus the batch) is bounded: over `highWaterMark` send() returns a
 * promise that settles once it has drained, over `maxQueuedBytes` the peer is too slow and the
 * link is terminated with CAPACITY instead of buffering without bound.
 */
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
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
import type { RawData, WebSocket } from 'ws';
import { FrameBatch } from './frame-batch.js';
import { FrameReader } from './frame-reader.js';

export interface WsLinkOptions {
  /** Largest message (frame) accepted or sent after authentication, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Queued outgoing bytes above which send() reports backpressure. Default 1 MiB. */
  highWaterMark?: number;
  /** Queued outgoing bytes above which the peer is disconnected (CAPACITY). Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Frames held before attach(); more close the link. Default 1024. */
  maxHeldFrames?: number;
}

/** Close codes of RFC 6455 used here. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
} as const;

/** The close code that tells the peer why (codes of RFC 6455 §7.4.1). */
export function closeCodeFor(error?: IpcError): number {
  switch (error?.code) {
    case undefined:
      return CloseCode.NORMAL;
    case 'MESSAGE_TOO_LARGE':
      return CloseCode.MESSAGE_TOO_BIG;
    case 'AUTH':
      return CloseCode.POLICY_VIOLATION;
    case 'CAPACITY':
      return CloseCode.TRY_AGAIN_LATER;
    case 'SERIALIZATION':
      return CloseCode.INVALID_PAYLOAD;
    case 'PROTOCOL':
      return CloseCode.PROTOCOL_ERROR;
    case 'CLOSED':
      return CloseCode.GOING_AWAY;
    default:
      return CloseCode.INTERNAL_ERROR;
  }
}

/** The IpcError for a close received from the peer (undefined for a clean close). */
export function errorForClose(code: number, reason: string): IpcError | undefined {
  if (code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY) return undefined;
  const text = `closed by peer (${code}${reason ? ` ${reason}` : ''})`;
  const details = { closeCode: code, reason };
  switch (code) {
    case CloseCode.MESSAGE_TOO_BIG:
      return new IpcError('MESSAGE_TOO_LARGE', text, { details });
    case CloseCode.POLICY_VIOLATION:
      return new IpcError('AUTH', text, { details });
    case CloseCode.TRY_AGAIN_LATER:
      return new IpcError('CAPACITY', text, { details });
    case CloseCode.PROTOCOL_ERROR:
    case CloseCode.INVALID_PAYLOAD:
      return new IpcError('PROTOCOL', text, { details });
    default:
      return new IpcError('CLOSED', text, { details });
  }
}

/**
 * Frames batched before the socket is written even within one tick: a whole burst written at the
 * end of the tick would make the peer wait for all of it, slices let it start on the first ones.
 */
const FLUSH_EVERY = 16;
/** Larger frames (UTF-16 units or bytes) go through ws.send, after the batch. */
const MAX_BATCHED = 16 * 1024;
const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

interface Utf8Readable {
  utf8Slice?(start: number, end: number): string;
}
/**
 * Buffer's UTF-8 reader without toString's argument checks, where Node has it. ws has already
 * checked that a text frame is valid UTF-8.
 */
const readUtf8: (data: Buffer) => string =
  typeof (Buffer.prototype as Utf8Readable).utf8Slice === 'function'
    ? (data) => (data as Utf8Readable).utf8Slice!(0, data.length)
    : (data) => data.toString('utf8');

/** The parts of ws's Receiver (a Writable) that the link reads before it reads frames itself. */
interface ReceiverInternals {
  _maxPayload: number;
  write(chunk: Buffer, ...rest: unknown[]): boolean;
  _state?: number;
  _bufferedBytes?: number;
  _fragmented?: number;
  _errored?: boolean;
  _binaryType?: string;
  _skipUTF8Validation?: boolean;
  _allowSynchronousEvents?: boolean;
  _writableState?: { length: number; writing: boolean };
}

interface WsInternals {
  _socket?: Socket;
  _receiver?: ReceiverInternals;
  _isServer?: boolean;
}

/** Whether ws's Receiver stands between two frames with nothing of a message pending. */
const receiverIdle = (r: ReceiverInternals): boolean =>
  r._state === 0 &&
  r._bufferedBytes === 0 &&
  r._fragmented === 0 &&
  r._errored === false &&
  r._writableState?.length === 0 &&
  r._writableState.writing === false;

/** A write request of Node's stream handles (the object Node's own socket writes make). */
interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
  link: WsLink | undefined;
}
interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
}
interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  onread?: (this: StreamHandle, arrayBuffer: ArrayBuffer) => unknown;
}

/**
 * Node's write request class and the state its stream writes report into, where
 * `process.binding('stream_wrap')` still gives them (undefined otherwise: sockets are written
 * with socket.write only).
 */
const streamWrap: StreamWrapBinding | undefined = (() => {
  try {
    const binding = (process as unknown as { binding?(name: string): unknown }).binding?.('stream_wrap') as
      | Partial<StreamWrapBinding>
      | undefined;
    if (
      typeof binding?.WriteWrap === 'function' &&
      binding.streamBaseState instanceof Int32Array &&
      typeof binding.kLastWriteWasAsync === 'number' &&
      typeof binding.kReadBytesOrError === 'number' &&
      typeof binding.kArrayBufferOffset === 'number'
    )
      return binding as StreamWrapBinding;
  } catch {
    // not available here
  }
  return undefined;
})();

/** Completion of a direct write that the kernel did not take at once. */
function directWriteDone(this: WriteReq, status: number): void {
  const link = this.link;
  this.link = undefined;
  this.buffer = null;
  link?.directWriteDone(this.bytes, status);
}

export class WsLink implements Link {
  readonly transport = 'ws';
  readonly remoteAddress?: string;
  /** True once the peer has proved it knows the token (at the upgrade or by `authenticate`). */
  authenticated: boolean;
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
  /** Frames encoded here and written once per tick; undefined when ws must frame them itself. */
  private readonly batch: FrameBatch | undefined;
  private flushPending = false;
  /** Frames batched in this tick, and whether the previous tick had just one. */
  private framesThisTick = 0;
  private lastTickLone = true;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: IpcError) => void }> = [];
  /** Writes sent over the mark whose callback has not run yet. */
  private overMark = 0;
  /** Bytes of direct handle writes the kernel has not taken yet. */
  private directBytes = 0;
  /**
   * The socket's handle, and the write request reused for direct writes the kernel takes at
   * once (Node keeps a request only when the write waits); a new one after a write that waited.
   */
  private handle: StreamHandle | null | undefined;
  private writeReq: WriteReq | undefined;
  /** Set by the heartbeat: a pong (or any frame) arrived since the last ping. */
  alive = true;

  constructor(
    readonly socket: WebSocket,
    options: WsLinkOptions = {},
    init: { remoteAddress?: string; authenticated?: boolean } = {},
  ) {
    if (init.remoteAddress !== undefined) this.remoteAddress = init.remoteAddress;
    this.authenticated = init.authenticated ?? true;
    this.protocol = socket.protocol;
    this.maxPayload = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes;
    this.maxHeldFrames = options.maxHeldFrames ?? 1024;
    // Frames are encoded here unless an extension (permessage-deflate) changes them or this is
    // not the ws this code knows.
    const internals = socket as unknown as WsInternals;
    if (
      socket.extensions === '' &&
      typeof internals._isServer === 'boolean' &&
      typeof internals._socket?.write === 'function'
    ) {
      this.batch = new FrameBatch(!internals._isServer);
      this.readFramesHere(internals._receiver, !!internals._isServer);
    }
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('error', (err: Error & { code?: string }) => {
      const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'MESSAGE_TOO_LARGE' : 'PROTOCOL';
      this.closeError ??= new IpcError(code, `websocket error: ${err.message}`, {
        cause: err,
        details: { wsCode: err.code },
      });
    });
    socket.on('close', (code, reason) => {
      this.closeError ??= errorForClose(code, reason.toString());
      this.finish();
    });
  }

  /**
   * Raises the frame limit from the pre-authentication one to `maxPayload` and marks the link
   * authenticated. ws keeps its limit in its receiver; there is no public setter.
   */
  markAuthenticated(): void {
    this.authenticated = true;
    const receiver = (this.socket as unknown as WsInternals)._receiver;
    if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = this.maxPayload;
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
    const queued = ws.bufferedAmount + this.directBytes + (batch ? batch.size : 0);
    if (queued <= this.highWaterMark) {
      if (batch && (typeof frame === 'string' ? frame.length : frame.byteLength) <= MAX_BATCHED) {
        batch.add(frame);
        this.framesThisTick++;
        if (!this.flushPending) {
          this.flushPending = true;
          // After a tick that sent one frame (request after request), the first frame of this
          // one leaves at once: the peer starts on it while this side finishes its tick.
          if (this.lastTickLone) this.flush();
          process.nextTick(this.flushTick);
        } else if (batch.count >= FLUSH_EVERY) this.flush();
        return;
      }
      this.flush();
      ws.send(frame, typeof frame === 'string' ? TEXT : BINARY);
      return;
    }
    if (queued > this.maxQueuedBytes) {
      const error = new IpcError(
        'CAPACITY',
        `peer too slow: ${queued} bytes queued (max ${this.maxQueuedBytes})`,
        { details: { queued, limit: this.maxQueuedBytes } },
      );
      this.close(error);
      throw error;
    }
    // Over the mark: the callback of this write runs once everything before it has left.
    this.flush();
    return new Promise((resolve, reject) => {
      this.drainWaiters.push({ resolve, reject });
      this.overMark++;
      ws.send(frame, typeof frame === 'string' ? TEXT : BINARY, () => {
        this.overMark--;
        this.releaseWaiters();
      });
    });
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    if (error) this.closeError ??= error;
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

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.socket.bufferedAmount + this.directBytes;
  }

  /**
   * Reads the common frames (whole, unfragmented text and binary frames) of each chunk here,
   * before ws's Receiver, which is a Writable stream with a frame state machine and an event per
   * message; the first other frame and the rest of its chunk go to the Receiver as before, and
   * so does everything after it until the Receiver stands between frames again. Done only while
   * the Receiver is one this code knows (same checks, same limits: FrameReader), never with
   * extensions. Frames read here reach the link without a ws 'message' event.
   */
  private readFramesHere(receiver: ReceiverInternals | undefined, isServer: boolean): void {
    const r = receiver;
    if (
      !r ||
      typeof r.write !== 'function' ||
      Object.hasOwn(r, 'write') ||
      typeof r._maxPayload !== 'number' ||
      r._binaryType !== 'nodebuffer' ||
      r._skipUTF8Validation !== false ||
      r._allowSynchronousEvents !== true ||
      !receiverIdle(r)
    )
      return;
    const write = r.write;
    const reader = new FrameReader(isServer);
    const ws = this.socket;
    let delegating = false;
    /** Hands `chunk` to ws's Receiver; frames are read here again once it is idle. */
    const delegate = (chunk: Buffer, rest: unknown[]): boolean => {
      const ok = write.call(r, chunk, ...rest);
      delegating = !receiverIdle(r);
      return ok;
    };
    this.readSocketHere(r);
    r.write = (chunk: Buffer, ...rest: unknown[]): boolean => {
      if (delegating || rest.length > 0 || !Buffer.isBuffer(chunk)) return delegate(chunk, rest);
      const size = chunk.length;
      let at = 0;
      while (at < size) {
        if (ws.readyState !== 1 || !reader.read(chunk, at, r._maxPayload))
          return delegate(at === 0 ? chunk : chunk.subarray(at), rest);
        at = reader.end;
        this.deliver(reader.payload);
      }
      return true;
    };
  }

  /**
   * Takes the socket's reads from its handle, as Node's own read callback does, and hands each
   * chunk to the Receiver's `write` (FrameReader first) without the Readable stream and its
   * 'data' event, while the socket flows, its stream holds nothing and ws still listens;
   * otherwise, and for end of stream and errors, Node's callback runs as before (ws's pause()
   * still pauses).
   */
  private readSocketHere(receiver: ReceiverInternals): void {
    const socket = (this.socket as unknown as WsInternals)._socket;
    const handle = (socket as unknown as { _handle?: StreamHandle | null } | undefined)?._handle;
    const original = handle?.onread;
    if (
      streamWrap === undefined ||
      !socket ||
      !handle ||
      typeof original !== 'function' ||
      original.name !== 'onStreamRead' ||
      (socket as { encrypted?: boolean }).encrypted === true ||
      socket.listenerCount('data') !== 1
    )
      return;
    const state = streamWrap.streamBaseState;
    const { kReadBytesOrError, kArrayBufferOffset } = streamWrap;
    const refresh = (socket as unknown as { _unrefTimer?: () => void })._unrefTimer;
    handle.onread = function (this: StreamHandle, arrayBuffer: ArrayBuffer): unknown {
      const read = state[kReadBytesOrError]!;
      // ws removes its listener once it stops reading (close frame, protocol error).
      if (
        read <= 0 ||
        socket.readableFlowing !== true ||
        socket.readableLength !== 0 ||
        socket.destroyed ||
        socket.listenerCount('data') !== 1
      )
        return original.call(this, arrayBuffer);
      if (refresh) refresh.call(socket);
      const chunk = Buffer.from(arrayBuffer, state[kArrayBufferOffset]!, read);
      // As ws's 'data' listener does: a Receiver that cannot take more pauses the socket.
      if (!receiver.write(chunk)) socket.pause();
      return undefined;
    };
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    let frame: Frame;
    if (Buffer.isBuffer(data)) frame = isBinary ? data : readUtf8(data);
    else if (Array.isArray(data)) frame = isBinary ? Buffer.concat(data) : Buffer.concat(data).toString();
    else frame = isBinary ? new Uint8Array(data) : Buffer.from(data).toString('utf8');
    this.deliver(frame);
  }

  private deliver(frame: Frame): void {
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
    const out = this.batch?.take();
    if (out === undefined) return;
    const socket = (this.socket as unknown as WsInternals)._socket;
    if (this.socket.readyState !== 1 || !socket || socket.destroyed) return;
    if (!this.writeDirect(socket, out)) socket.write(out);
  }

  /**
   * Writes `out` on the socket's handle as Node's socket.write does in the end, without the
   * Writable stream's bookkeeping, when nothing is queued in the stream (so the order holds)
   * and no earlier direct write is pending; false when it cannot (socket.write then does it).
   * A write the kernel does not take at once stays counted in queuedBytes until it completes.
   * Not for TLS sockets.
   */
  private writeDirect(socket: Socket, out: Buffer): boolean {
    if (this.handle === undefined) {
      // Fixed for the socket's life once connected (flush() never writes a destroyed socket).
      const found = (socket as unknown as { _handle?: StreamHandle | null })._handle;
      this.handle =
        streamWrap !== undefined &&
        !socket.connecting &&
        (socket as { encrypted?: boolean }).encrypted !== true &&
        typeof found?.writeBuffer === 'function'
          ? found
          : null;
    }
    const handle = this.handle;
    if (handle === null || this.directBytes !== 0 || socket.writableLength !== 0) return false;
    let req = this.writeReq;
    if (req === undefined) {
      req = new streamWrap!.WriteWrap();
      req.handle = handle;
      req.oncomplete = directWriteDone;
      req.async = false;
      req.buffer = null;
      req.link = undefined;
      this.writeReq = req;
    }
    req.bytes = out.length;
    const status = handle.writeBuffer(req, out);
    if (status !== 0) {
      socket.destroy(Object.assign(new Error(`write ${getSystemErrorName(status)}`), { errno: status }));
      return true;
    }
    if (streamWrap!.streamBaseState[streamWrap!.kLastWriteWasAsync] !== 0) {
      this.writeReq = undefined;
      req.async = true;
      req.buffer = out;
      req.link = this;
      this.directBytes += out.length;
    }
    return true;
  }

  /** @internal a direct write the kernel took later (status < 0: it failed). */
  directWriteDone(bytes: number, status: number): void {
    this.directBytes -= bytes;
    if (status < 0) {
      const socket = (this.socket as unknown as WsInternals)._socket;
      socket?.destroy(Object.assign(new Error(`write ${getSystemErrorName(status)}`), { errno: status }));
    }
  }

  private readonly flushTick = (): void => {
    this.flushPending = false;
    this.lastTickLone = this.framesThisTick === 1;
    this.framesThisTick = 0;
    this.flush();
  };

  private releaseWaiters(): void {
    if (this.overMark > 0 && this.socket.bufferedAmount > this.highWaterMark) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.reject(new IpcError('CLOSED', 'link closed'));
    if (this.handler) this.handler.onClose(this.closeError);
  }
}
