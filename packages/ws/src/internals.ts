/**
 * The opt-in fast path of packages/ws (`fastPath: true`), and the only module of the package
 * that reaches into private parts of Node or ws. Off by default; each part is probed at the first
 * link that asks for it (never at import) and left off when this Node or this ws does not have
 * what it needs, the public path doing the work instead:
 *
 * - frames read before ws's Receiver: `receiver.write` of the WebSocket's private `_receiver` is
 *   wrapped so that whole unfragmented data frames are read by FrameReader (checked against the
 *   Receiver's private state and options: `_state`, `_bufferedBytes`, `_fragmented`, …);
 * - the socket's reads taken from its handle (`_handle.onread` replaced, `_unrefTimer`, the read
 *   state of `process.binding('stream_wrap')`), without the Readable stream and its 'data' event;
 * - writes on the handle with Node's own write request (`stream_wrap`'s WriteWrap,
 *   `_handle.writeBuffer`) when the socket's stream has nothing queued;
 * - text read and written with Buffer's undocumented `utf8Slice` and `utf8Write`.
 *
 * OPENCLAW_IPC_NO_INTERNALS=1 turns all of it off whatever the option says. Where Node would
 * print DEP0111 for process.binding (--pending-deprecation), the parts that need it stay off.
 * Measured effect: docs/benchmarks-ws.md.
 */
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { WebSocket } from 'ws';
import type { Utf8Codec } from './buffer-util.js';
import { FrameReader } from './frame-reader.js';

/** Whether OPENCLAW_IPC_NO_INTERNALS is set (to anything but '' and '0'). */
export function internalsDisabled(): boolean {
  const value = process.env.OPENCLAW_IPC_NO_INTERNALS;
  return value !== undefined && value !== '' && value !== '0';
}

/** Whether process.binding() would print a deprecation warning (DEP0111) in this process. */
function bindingWarns(): boolean {
  if (process.noDeprecation) return false;
  return (
    process.execArgv.includes('--pending-deprecation') ||
    process.env.NODE_PENDING_DEPRECATION === '1' ||
    /(^|\s)--pending-deprecation(\s|$)/.test(process.env.NODE_OPTIONS ?? '')
  );
}

interface UncheckedUtf8 {
  utf8Slice?(start: number, end: number): string;
  utf8Write?(text: string, offset: number, length: number): number;
}
let uncheckedUtf8: Utf8Codec | null | undefined;

/** Buffer's UTF-8 reader and writer without the argument checks of toString and write. */
export function fastUtf8(): Utf8Codec | undefined {
  if (uncheckedUtf8 === undefined) {
    const proto = Buffer.prototype as UncheckedUtf8;
    uncheckedUtf8 =
      typeof proto.utf8Slice === 'function' && typeof proto.utf8Write === 'function'
        ? {
            slice: (buf, start, end) => (buf as UncheckedUtf8).utf8Slice!(start, end),
            write: (buf, text, at, most) => (buf as UncheckedUtf8).utf8Write!(text, at, most),
          }
        : null;
  }
  return uncheckedUtf8 ?? undefined;
}

/** A write request of Node's stream handles (the object Node's own socket writes make). */
interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
  writer: DirectWriter | undefined;
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
const handleOf = (socket: Socket): StreamHandle | null | undefined =>
  (socket as unknown as { _handle?: StreamHandle | null })._handle;

let streamWrap: StreamWrapBinding | null | undefined;

/** Node's write request class and the state its stream handles report into, where it has them. */
function streamWrapBinding(): StreamWrapBinding | undefined {
  if (streamWrap !== undefined) return streamWrap ?? undefined;
  streamWrap = null;
  if (bindingWarns()) return undefined;
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
      streamWrap = binding as StreamWrapBinding;
  } catch {
    // not available here
  }
  return streamWrap ?? undefined;
}

/** The parts of ws's Receiver (a Writable) the fast path reads before it reads frames itself. */
interface ReceiverInternals {
  write(chunk: Buffer, ...rest: unknown[]): boolean;
  _maxPayload?: number;
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

/** What a link gives the fast path: where the frames read go, and the frame limit of the moment. */
export interface FastPathHost {
  deliver(frame: string | Buffer): void;
  frameLimit(): number;
}

/** The parts of the fast path a link got; each may be missing. */
export interface FastPath {
  /** Unchecked UTF-8 for the link's frame writer. */
  utf8: Utf8Codec | undefined;
  /** Writes on the socket's handle. */
  writer: DirectWriter | undefined;
}

/**
 * Turns on what it can of the fast path for one open link whose socket is `socket` (the
 * WebSocket's own, without extensions). Reading starts at once; the writer is the caller's.
 */
export function enableFastPath(
  host: FastPathHost,
  ws: WebSocket,
  socket: Socket,
  isServer: boolean,
): FastPath {
  const internals = ws as unknown as WsInternals;
  const utf8 = fastUtf8();
  if (internals._socket !== socket || internals._isServer !== isServer || ws.extensions !== '')
    return { utf8, writer: undefined };
  const receiver = internals._receiver;
  if (receiver && readFramesHere(host, ws, receiver, isServer, utf8)) readSocketHere(receiver, socket);
  return { utf8, writer: DirectWriter.for(socket) };
}

/**
 * Wraps the Receiver's `write`: whole unfragmented data frames of each chunk are read here and
 * delivered without a ws 'message' event; the first other frame and the rest of its chunk go to
 * the Receiver, and so does everything after it until the Receiver stands between frames again.
 * Only for a Receiver this code knows (same checks and limits: FrameReader).
 */
function readFramesHere(
  host: FastPathHost,
  ws: WebSocket,
  r: ReceiverInternals,
  isServer: boolean,
  utf8: Utf8Codec | undefined,
): boolean {
  if (
    typeof r.write !== 'function' ||
    Object.hasOwn(r, 'write') ||
    typeof r._maxPayload !== 'number' ||
    r._binaryType !== 'nodebuffer' ||
    r._skipUTF8Validation !== false ||
    r._allowSynchronousEvents !== true ||
    !receiverIdle(r)
  )
    return false;
  const write = r.write;
  const reader = new FrameReader(isServer, utf8);
  let delegating = false;
  /** Hands `chunk` to ws's Receiver; frames are read here again once it is idle. */
  const delegate = (chunk: Buffer, rest: unknown[]): boolean => {
    const ok = write.call(r, chunk, ...rest);
    delegating = !receiverIdle(r);
    return ok;
  };
  r.write = (chunk: Buffer, ...rest: unknown[]): boolean => {
    if (delegating || rest.length > 0 || !Buffer.isBuffer(chunk)) return delegate(chunk, rest);
    const size = chunk.length;
    let at = 0;
    while (at < size) {
      if (ws.readyState !== 1 || !reader.read(chunk, at, host.frameLimit()))
        return delegate(at === 0 ? chunk : chunk.subarray(at), rest);
      at = reader.end;
      host.deliver(reader.payload);
    }
    return true;
  };
  return true;
}

/**
 * Replaces the socket handle's read callback with one that hands each chunk straight to the
 * Receiver's `write` (so FrameReader first), without the Readable stream and its 'data' event,
 * while the socket flows, its stream holds nothing and ws is its only 'data' listener; otherwise,
 * and for end of stream and errors, Node's callback runs as before (ws's pause() still pauses).
 */
function readSocketHere(receiver: ReceiverInternals, socket: Socket): void {
  const binding = streamWrapBinding();
  const handle = handleOf(socket);
  const original = handle?.onread;
  if (
    binding === undefined ||
    !handle ||
    typeof original !== 'function' ||
    original.name !== 'onStreamRead' ||
    (socket as { encrypted?: boolean }).encrypted === true ||
    socket.listenerCount('data') !== 1
  )
    return;
  const state = binding.streamBaseState;
  const { kReadBytesOrError, kArrayBufferOffset } = binding;
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

/** Completion of a direct write that the kernel did not take at once. */
function directWriteDone(this: WriteReq, status: number): void {
  const writer = this.writer;
  this.writer = undefined;
  this.buffer = null;
  writer?.done(this.bytes, status);
}

/**
 * Writes buffers on a socket's handle as Node's socket.write does in the end, without the
 * Writable stream's bookkeeping, when nothing is queued in the stream (so the order holds) and no
 * earlier direct write is pending. A write the kernel does not take at once counts in
 * `pendingBytes` until it completes. One write request is reused while writes complete at once.
 * Not for TLS sockets.
 */
export class DirectWriter {
  /** Bytes of direct writes the kernel has not taken yet. */
  pendingBytes = 0;
  private req: WriteReq | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly handle: StreamHandle,
    private readonly binding: StreamWrapBinding,
  ) {}

  /** A writer for a connected, unencrypted socket, where this Node has the parts it needs. */
  static for(socket: Socket): DirectWriter | undefined {
    const binding = streamWrapBinding();
    const handle = handleOf(socket);
    if (
      binding === undefined ||
      socket.connecting ||
      socket.destroyed ||
      (socket as { encrypted?: boolean }).encrypted === true ||
      typeof handle?.writeBuffer !== 'function'
    )
      return undefined;
    return new DirectWriter(socket, handle, binding);
  }

  /** Writes `out` (which must not change afterwards); false when it cannot (use socket.write). */
  write(out: Buffer): boolean {
    const socket = this.socket;
    if (this.pendingBytes !== 0 || socket.writableLength !== 0 || socket.destroyed) return false;
    let req = this.req;
    if (req === undefined) {
      req = new this.binding.WriteWrap();
      req.handle = this.handle;
      req.oncomplete = directWriteDone;
      req.async = false;
      req.buffer = null;
      req.writer = undefined;
      this.req = req;
    }
    req.bytes = out.length;
    const status = this.handle.writeBuffer(req, out);
    if (status !== 0) {
      this.fail(status);
      return true;
    }
    if (this.binding.streamBaseState[this.binding.kLastWriteWasAsync] !== 0) {
      // The kernel took part of it: Node keeps this request until the rest is written.
      this.req = undefined;
      req.async = true;
      req.buffer = out;
      req.writer = this;
      this.pendingBytes += out.length;
    }
    return true;
  }

  /** @internal a direct write the kernel took later (status < 0: it failed). */
  done(bytes: number, status: number): void {
    this.pendingBytes -= bytes;
    if (status < 0) this.fail(status);
  }

  private fail(status: number): void {
    this.socket.destroy(Object.assign(new Error(`write ${getSystemErrorName(status)}`), { errno: status }));
  }
}
