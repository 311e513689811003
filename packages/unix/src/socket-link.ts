/**
 * A Link over a stream socket (node:net), framed with u32 LE length prefixes.
 * Small frames sent in one tick are copied into buffers that leave in a few writes (pipelined
 * requests cost a syscall per slice of the tick, not one each, and no per-frame stream
 * bookkeeping): the first slice as soon as it holds half the previous tick's frames, then up to
 * BATCH_FRAMES each, the rest at the end of the tick; the queue of
 * unwritten bytes is bounded: over `highWaterMark` send() returns a promise that
 * settles on drain, over `maxQueuedBytes` the peer is too slow and the link closes (CAPACITY).
 */
import type { OnReadOpts, Socket } from 'node:net';
import {
  DEFAULT_LIMITS,
  type Frame,
  IpcError,
  type Link,
  type LinkHandler,
  TickSlices,
  tooLargeError,
} from '@openclaw-ipc/core';
import { frameHeader, HEADER_SIZE, LengthPrefixedDecoder } from './frame-decoder.js';
import { socketDescriptor } from './internals.js';

export interface SocketLinkOptions {
  /** Largest message (frame body) accepted or sent, in bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Queued outgoing bytes above which send() reports backpressure. Default 1 MiB. */
  highWaterMark?: number;
  /** Queued outgoing bytes above which the link closes with CAPACITY. Default 16 MiB. */
  maxQueuedBytes?: number;
  /**
   * One request at a time, for request/reply protocols without ids (the sidecar): after a
   * frame is delivered, the next one waits until a frame has been sent back, so replies leave
   * in request order. Reading pauses while a frame waits. Only for protocols where every frame
   * received is answered with exactly one frame. Default false.
   */
  sequential?: boolean;
  /** Milliseconds a clean close waits for the peer to close its side before cutting. Default 2000. */
  closeTimeout?: number;
}

/** Bodies up to this size are copied into the tick's batch; larger ones are written as they are. */
const COPY_LIMIT = 16 * 1024;
/** A batch this large is written at once rather than at the end of the tick. */
const BATCH_LIMIT = 64 * 1024;
/**
 * A batch of this many frames is written at once too: the peer starts on the first ones while
 * this side still produces the rest, instead of both sides taking turns. Measured with 64 in
 * flight (bench/unix): +40-50% throughput for 64 B messages, no change for 4 KiB ones.
 */
const BATCH_FRAMES = 16;

/**
 * Memory batches are copied into, shared by every link of the thread and reused as long as each
 * write is taken whole by the kernel at once (the common case): no allocation per write, and no
 * buffer held by an idle link. Sized to the largest batch so far (at most BATCH_LIMIT +
 * COPY_LIMIT + headers), in 8 KiB steps. A write the kernel did not take at once keeps its
 * memory until written; the next batch, of any link, gets new memory.
 */
let scratch: Buffer | undefined;

/** Bytes offered to one read, and the least worth offering before starting a new slab. */
const READ_SIZE = 64 * 1024;
const READ_MIN = 16 * 1024;
const READ_SLAB = 128 * 1024;

/**
 * The `onread` option of net.connect() for a socket whose link is made after it: the socket
 * reads straight into consecutive regions of a slab (each read gets the part after the bytes
 * already read, a new slab when little is left), and each read is handed to the link as a view,
 * without Node's readable stream and without allocating a buffer per read. Slab memory is never
 * reused: frames cut from it stay valid as long as they are referenced (the garbage collector
 * frees a slab after its last view). Measured on the raw echo client (interleaved runs): 'data'
 * events 26-33 µs per sequential round trip and 14-18 µs CPU, this 24-27 µs and 12-14 µs.
 * Slabs are not zero-filled (Buffer.allocUnsafeSlow: about 2 µs where a zeroed 128 KiB
 * ArrayBuffer took 18): only bytes the socket has read into them are ever handed on.
 * net.Server has no such option, so accepted sockets read with 'data' events.
 */
const newReadSlab = (): ArrayBuffer => Buffer.allocUnsafeSlow(READ_SLAB).buffer as ArrayBuffer;

export function regionReads(link: () => SocketLink | undefined): OnReadOpts {
  let slab = newReadSlab();
  let used = 0;
  return {
    buffer: () => {
      if (READ_SLAB - used < READ_MIN) {
        slab = newReadSlab();
        used = 0;
      }
      return Buffer.from(slab, used, Math.min(READ_SIZE, READ_SLAB - used));
    },
    callback: (bytes, buffer) => {
      used += bytes;
      const chunk = buffer as Buffer;
      link()?.receive(bytes === chunk.length ? chunk : chunk.subarray(0, bytes));
      return true; // keep reading (pause() stops it)
    },
  };
}

/** The process at the other end of a Unix socket (SO_PEERCRED). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Reads SO_PEERCRED of a connected Unix socket's descriptor (a native call: Node has none). */
export type PeerCredentialsReader = (fd: number) => PeerCredentials;

export class SocketLink implements Link {
  readonly transport: string;
  readonly remoteAddress?: string;
  private readonly decoder: LengthPrefixedDecoder;
  private readonly maxFrameSize: number;
  private readonly highWaterMark: number;
  private readonly maxQueuedBytes: number;
  private handler: LinkHandler | undefined;
  private closed = false;
  /** Small frames sent during this tick, written together at its end (or at BATCH_LIMIT/FRAMES). */
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  /** A received chunk is being delivered: what is sent meanwhile is flushed right after it. */
  private delivering = false;
  /**
   * When the small frames of this tick (or of a chunk's delivery) are written: the first half of
   * the previous tick's count at once, then every BATCH_FRAMES. Measured over two processes with
   * 64 B requests (interleaved runs, medians of 5): 4 in flight +20-30 %, 16 in flight about twice
   * the requests per second, 64 and 256 in flight unchanged within the noise.
   */
  private readonly slices = new TickSlices(BATCH_FRAMES);
  private drainWaiters: Array<{ resolve: () => void; reject: (e: IpcError) => void }> = [];
  private closeError: IpcError | undefined;
  private readonly sequential: boolean;
  private readonly closeTimeout: number;
  /** Sequential mode: a delivered frame has not been answered yet. */
  private awaitingReply = false;
  /** Sequential mode: frames received while awaiting a reply (at most one read's worth). */
  private held: Buffer[] = [];

  /**
   * @param readsByCallback the socket was made with {@link regionReads}' `onread` option: bytes
   *   arrive through receive() instead of 'data' events.
   */
  constructor(
    private readonly socket: Socket,
    options: SocketLinkOptions = {},
    transport = 'unix',
    remoteAddress?: string,
    private readonly readsByCallback = false,
  ) {
    this.transport = transport;
    if (remoteAddress !== undefined) this.remoteAddress = remoteAddress;
    this.maxFrameSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.highWaterMark = options.highWaterMark ?? DEFAULT_LIMITS.highWaterMark;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes;
    this.sequential = options.sequential ?? false;
    this.closeTimeout = options.closeTimeout ?? 2000;
    this.decoder = new LengthPrefixedDecoder(
      this.maxFrameSize,
      this.sequential ? (frame) => this.deliverInTurn(frame) : (frame) => this.handler?.onFrame(frame),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closeError ??= new IpcError('CLOSED', `socket error: ${err.code ?? err.message}`, { cause: err });
    });
    socket.on('close', () => this.finish());
    socket.on('drain', () => this.onWritten());
  }

  attach(handler: LinkHandler): void {
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.handler = handler;
    if (this.closed) {
      handler.onClose(this.closeError);
      return;
    }
    // The socket stays paused (nothing read, nothing lost) until there is someone to deliver to.
    if (!this.readsByCallback) this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.resume();
  }

  /** Takes bytes read from the socket (they are the link's from then on). */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.delivering = true;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.close(IpcError.from(err, 'PROTOCOL'));
    } finally {
      this.delivering = false;
    }
    // Frames sent while this chunk was delivered (a server's replies to synchronous handlers)
    // leave now, together, without waiting for the end of the tick.
    this.slices.end();
    if (this.batchBytes > 0) this.flush();
  }

  send(frame: Frame): void | Promise<void> {
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const body = typeof frame === 'string' ? Buffer.from(frame, 'utf8') : frame;
    if (body.byteLength > this.maxFrameSize) throw tooLargeError(body.byteLength, this.maxFrameSize, 'frame');
    if (this.awaitingReply) {
      this.awaitingReply = false;
      if (this.held.length > 0) queueMicrotask(() => this.releaseHeld());
    }
    if (body.byteLength <= COPY_LIMIT) {
      this.batch.push(body);
      this.batchBytes += HEADER_SIZE + body.byteLength;
      if (!this.delivering && !this.flushScheduled) {
        this.flushScheduled = true;
        process.nextTick(this.flushTick);
      }
      if (this.slices.add(this.batch.length) || this.batchBytes >= BATCH_LIMIT) this.flush();
    } else {
      // Large bodies are written as they are, after what is batched, without a copy.
      this.flush();
      this.socket.cork();
      this.socket.write(frameHeader(body.byteLength));
      this.socket.write(body, this.onWritten);
      this.socket.uncork();
    }
    const queued = this.queuedBytes;
    if (queued <= this.highWaterMark) return;
    if (queued > this.maxQueuedBytes) {
      const error = new IpcError(
        'CAPACITY',
        `peer too slow: ${queued} bytes queued (max ${this.maxQueuedBytes})`,
        {
          details: { queued, limit: this.maxQueuedBytes },
        },
      );
      this.close(error);
      throw error;
    }
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    if (error) this.closeError ??= error;
    // end() lets queued frames leave before the FIN; after a failure there is nothing to keep.
    if (error) this.socket.destroy();
    else {
      this.flush();
      this.socket.end();
      // A peer that never reads never sees the FIN and never closes: do not wait forever (a
      // listener's close() waits for its sockets).
      const timer = setTimeout(() => this.socket.destroy(), this.closeTimeout);
      timer.unref();
      this.socket.once('close', () => clearTimeout(timer));
    }
    this.finish();
  }

  /**
   * The credentials of the process at the other end (SO_PEERCRED), read by `read` from the
   * socket's descriptor; undefined when the descriptor cannot be found (closed, not yet
   * connected, or a Node that keeps it where {@link socketDescriptor} does not look). Node has a
   * public API neither for a socket's descriptor nor for SO_PEERCRED: the descriptor is read in
   * this package's internals module, the credentials by the caller's native reader (the rdma
   * addon's `peerCredentials`). Throws what `read` throws (e.g. not a Unix socket).
   */
  peerCredentials(read: PeerCredentialsReader): PeerCredentials | undefined {
    if (this.closed) return undefined;
    const fd = socketDescriptor(this.socket);
    return fd === undefined ? undefined : read(fd);
  }

  /** Bytes waiting to be written (batched for this tick or queued in the socket). */
  get queuedBytes(): number {
    return this.socket.writableLength + this.batchBytes;
  }

  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    this.slices.end();
    this.flush();
  };

  /** Writes the frames batched so far as one buffer: one copy each, one write for all. */
  private flush(): void {
    const size = this.batchBytes;
    if (size === 0) return;
    // Taken from the thread's links while in use (a write that re-entered another link's flush
    // would otherwise write into it).
    let out = scratch;
    scratch = undefined;
    if (!out || out.length < size) out = Buffer.allocUnsafeSlow(Math.ceil(size / 8192) * 8192);
    let pos = 0;
    for (const body of this.batch) {
      out.writeUInt32LE(body.byteLength, pos);
      out.set(body, pos + HEADER_SIZE);
      pos += HEADER_SIZE + body.byteLength;
    }
    this.batch = [];
    this.batchBytes = 0;
    if (this.socket.destroyed) {
      scratch = out;
      return;
    }
    this.socket.write(Buffer.from(out.buffer, out.byteOffset, size), this.onWritten);
    // Nothing queued after the write: the kernel took all of it, the memory is free again.
    // Otherwise the stream holds it until written, and the next batch gets new memory.
    scratch = this.socket.writableLength === 0 ? out : undefined;
  }

  /** A write reached the kernel: wake senders waiting for room if there is some now. */
  private readonly onWritten = (): void => {
    if (this.drainWaiters.length > 0 && this.queuedBytes <= this.highWaterMark) this.releaseWaiters();
  };

  private deliverInTurn(frame: Buffer): void {
    if (this.awaitingReply) {
      this.held.push(frame);
      this.socket.pause();
      return;
    }
    this.awaitingReply = true;
    this.handler?.onFrame(frame);
  }

  private releaseHeld(): void {
    while (!this.closed && !this.awaitingReply && this.held.length > 0)
      this.deliverInTurn(this.held.shift()!);
    if (!this.closed && this.held.length === 0) this.socket.resume();
  }

  private releaseWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.reject(new IpcError('CLOSED', 'link closed'));
    this.handler?.onClose(this.closeError);
  }
}

export { HEADER_SIZE };
