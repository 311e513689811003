/**
 * RdmaLink: a Link over a control link (the unix transport's SocketLink, or the same framing
 * over TCP for verbs) that moves large frames by rendezvous.
 *
 * - A frame up to `rendezvousThreshold` bytes goes inline (a DATA control frame).
 * - A larger frame is registered with the provider (in place, or copied into shared memory for
 *   shm), its descriptor and CRC32C go on the control link (RENDEZVOUS), the receiver reads the
 *   bytes one-sidedly, checks the CRC32C, answers RELEASE and delivers the frame; the sender
 *   deregisters on RELEASE, on expiry (`rendezvousTtlMs`) or when the link closes.
 * - Frames are delivered in the order they were sent, inline or not.
 * - A read that fails (wrong key, expired, peer gone, CRC mismatch) closes the link with that
 *   IpcError: the message it carried is lost, and the RPC layer above fails what waited on it.
 */
import { type Frame, IpcError, type Link, type LinkHandler } from '@openclaw-ipc/core';
import { decodeControl, encodeData, encodeRelease, encodeRendezvous, type Rendezvous } from './control.js';
import { attachments, MAX_OUT_OF_BAND } from './out-of-band.js';
import {
  ACCESS_READ,
  type LocalRegion,
  type ProviderEndpoint,
  providerError,
  type RemotePeer,
} from './providers/provider.js';

export interface RdmaLinkOptions {
  /** Frames above this many bytes go by rendezvous. Default 64 KiB. */
  rendezvousThreshold?: number;
  /** Largest frame accepted or sent by rendezvous. Default 256 MiB. */
  maxMessageSize?: number;
  /** Milliseconds a rendezvous registration stays readable without a RELEASE. Default 30 000. */
  rendezvousTtlMs?: number;
  /** Bytes being read by rendezvous at once; above it the link closes with CAPACITY. Default 1 GiB. */
  maxInboundBytes?: number;
  /**
   * Outgoing bytes waiting for the peer (registered until it has read them); above it send()
   * rejects with CAPACITY. Default 1 GiB: rendezvous messages are large.
   */
  maxQueuedBytes?: number;
  /** Called once when the link has closed (the transport closes the link's endpoint then). */
  onClosed?: () => void;
}

export const DEFAULT_RENDEZVOUS_THRESHOLD = 64 * 1024;
export const DEFAULT_RDMA_MAX_MESSAGE = 256 * 1024 * 1024;

/** CRC32C of bytes (the native addon's). */
export type Crc32c = (bytes: Uint8Array) => number;

/** Native helpers of the link's data path; without them it uses plain JS equivalents. */
export interface RdmaLinkNatives {
  /** Memory for a rendezvous read of `length` bytes (the transport's: native-bridge receiveBuffer). Default Buffer.allocUnsafe. */
  receiveBuffer?: (length: number) => Buffer;
  /** Copies `src` into `dst` and returns the CRC32C of the bytes in one pass (shm's copy into its arena). */
  crc32cCopy?: (dst: Uint8Array, src: Uint8Array) => number;
}

interface Outbound {
  region: LocalRegion;
  timer: NodeJS.Timeout;
  length: number;
}

export class RdmaLink implements Link {
  readonly transport: string;
  readonly remoteAddress?: string;
  private handler: LinkHandler | undefined;
  private held: Frame[] = [];
  private closed = false;
  private closeError: IpcError | undefined;
  private closeReported = false;
  private readonly threshold: number;
  private readonly maxMessageSize: number;
  private readonly ttlMs: number;
  private readonly maxInbound: number;
  private readonly maxOutbound: number;
  private readonly onClosed: (() => void) | undefined;
  private nextId = 1;
  private readonly outbound = new Map<number, Outbound>();
  private outboundBytes = 0;
  private inboundBytes = 0;
  /** Deliveries waiting behind a rendezvous read, in order. */
  private tail: Promise<void> = Promise.resolve();
  /** Deliveries waiting in `tail`. */
  private queued = 0;
  /** Out-of-band values being read for the next message. */
  private parts: Promise<Buffer>[] = [];
  private readonly allocReceive: (length: number) => Buffer;
  private readonly crc32cCopy: ((dst: Uint8Array, src: Uint8Array) => number) | undefined;

  constructor(
    private readonly control: Link,
    private readonly endpoint: ProviderEndpoint,
    private readonly peer: RemotePeer,
    private readonly crc32c: Crc32c,
    options: RdmaLinkOptions = {},
    natives: RdmaLinkNatives = {},
  ) {
    this.transport = `rdma+${endpoint.provider}`;
    if (control.remoteAddress !== undefined) this.remoteAddress = control.remoteAddress;
    this.threshold = options.rendezvousThreshold ?? DEFAULT_RENDEZVOUS_THRESHOLD;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_RDMA_MAX_MESSAGE;
    this.ttlMs = options.rendezvousTtlMs ?? 30_000;
    this.maxInbound = options.maxInboundBytes ?? 1024 * 1024 * 1024;
    this.maxOutbound = options.maxQueuedBytes ?? 1024 * 1024 * 1024;
    this.onClosed = options.onClosed;
    this.allocReceive = natives.receiveBuffer ?? Buffer.allocUnsafe;
    this.crc32cCopy = natives.crc32cCopy;
  }

  /** Registrations waiting for the peer's RELEASE. */
  get pendingRegions(): number {
    return this.outbound.size;
  }

  /** Called by the handshake with every control frame after the HELLOs. */
  onControlFrame(frame: Frame): void {
    if (this.closed) return;
    if (typeof frame === 'string') {
      this.close(new IpcError('PROTOCOL', 'rdma control: text frame'));
      return;
    }
    let c: ReturnType<typeof decodeControl>;
    try {
      c = decodeControl(frame, this.maxMessageSize);
    } catch (err) {
      this.close(IpcError.from(err));
      return;
    }
    switch (c.kind) {
      case 'data':
        this.enqueue(c.message);
        return;
      case 'rendezvous':
        this.receive(c);
        return;
      case 'release':
        this.release(c.id);
        return;
      case 'hello':
        this.close(new IpcError('PROTOCOL', 'rdma control: HELLO after the handshake'));
    }
  }

  onControlClose(error?: IpcError): void {
    this.finish(error);
  }

  attach(handler: LinkHandler): void {
    if (this.handler) throw new IpcError('INVALID_ARGUMENT', 'link already attached');
    this.handler = handler;
    const held = this.held;
    this.held = [];
    for (const frame of held) handler.onFrame(frame);
    if (this.closed) this.reportClose();
  }

  send(frame: Frame): void | Promise<void> {
    if (this.closed) throw new IpcError('CLOSED', 'link closed');
    const bytes = typeof frame === 'string' ? Buffer.from(frame, 'utf8') : frame;
    const parts = typeof frame === 'string' ? undefined : attachments.get(frame);
    const large = bytes.byteLength > this.threshold;
    if (!parts && !large) return this.control.send(encodeData(bytes));
    // Register everything first, so that a failure announces nothing.
    const all = [...(parts ?? []), ...(large ? [bytes] : [])];
    const total = all.reduce((n, b) => n + b.byteLength, 0);
    for (const b of all)
      if (b.byteLength > this.maxMessageSize)
        throw new IpcError(
          'MESSAGE_TOO_LARGE',
          `frame of ${b.byteLength} bytes is over the limit of ${this.maxMessageSize} bytes`,
          { details: { size: b.byteLength, limit: this.maxMessageSize } },
        );
    if (this.outboundBytes + total > this.maxOutbound)
      throw new IpcError(
        'CAPACITY',
        `rdma: ${this.outboundBytes} bytes already registered for the peer (limit ${this.maxOutbound})`,
      );
    const announced: Uint8Array[] = [];
    const ids: number[] = [];
    try {
      for (const [i, b] of all.entries()) {
        const { id, frame: control } = this.register(b, i < (parts?.length ?? 0));
        ids.push(id);
        announced.push(control);
      }
    } catch (err) {
      for (const id of ids) this.release(id);
      throw err;
    }
    let result: void | Promise<void> | undefined;
    try {
      for (const control of announced) result = this.control.send(control);
      if (!large) result = this.control.send(encodeData(bytes));
    } catch (err) {
      for (const id of ids) this.release(id);
      throw err;
    }
    return result;
  }

  /** Registers `bytes` for the peer; returns the RENDEZVOUS frame announcing it. */
  private register(bytes: Uint8Array, part: boolean): { id: number; frame: Uint8Array } {
    let target: Uint8Array = bytes;
    let crc: number | undefined;
    if (this.endpoint.registersAnyMemory === false) {
      target = this.endpoint.allocate(bytes.byteLength);
      if (this.crc32cCopy) crc = this.crc32cCopy(target, bytes);
      else target.set(bytes);
    }
    let region: LocalRegion;
    try {
      region = this.endpoint.register(target, { access: ACCESS_READ, ttlMs: this.ttlMs });
    } catch (err) {
      throw providerError(this.endpoint.provider, err, 'register');
    }
    const id = this.nextId++;
    const timer = setTimeout(() => this.release(id), this.ttlMs + 1000);
    timer.unref();
    this.outbound.set(id, { region, timer, length: bytes.byteLength });
    this.outboundBytes += bytes.byteLength;
    return {
      id,
      frame: encodeRendezvous({ id, region: region.descriptor, crc: crc ?? this.crc32c(target), part }),
    };
  }

  close(error?: IpcError): void {
    if (this.closed) return;
    this.closeError ??= error;
    this.control.close(error);
    this.finish(error);
  }

  private finish(error?: IpcError): void {
    if (!this.closed) {
      this.closed = true;
      this.closeError ??= error;
      for (const id of [...this.outbound.keys()]) this.release(id);
      this.peer.close();
      this.onClosed?.();
    }
    // Deliveries queued behind reads still happen (or fail) before onClose.
    void this.tail.then(() => this.reportClose());
  }

  private reportClose(): void {
    if (this.closeReported || !this.handler) return;
    this.closeReported = true;
    this.handler.onClose(this.closeError);
  }

  private deliver(message: Uint8Array): void {
    if (this.closed && this.closeReported) return;
    if (this.handler) this.handler.onFrame(message);
    else this.held.push(message);
  }

  private release(id: number): void {
    const out = this.outbound.get(id);
    if (!out) return;
    this.outbound.delete(id);
    clearTimeout(out.timer);
    this.outboundBytes -= out.length;
    out.region.close();
  }

  /**
   * Starts the one-sided read of a rendezvous; the RELEASE goes back as soon as the read has
   * finished (ok, or not). Resolves with the bytes, CRC32C checked.
   */
  private startRead(r: Rendezvous): Promise<Buffer> {
    const length = r.region.length;
    if (r.region.provider !== this.endpoint.provider)
      return Promise.reject(
        new IpcError(
          'PROTOCOL',
          `rdma: rendezvous over ${r.region.provider} on a ${this.endpoint.provider} link`,
        ),
      );
    if (this.inboundBytes + length > this.maxInbound)
      return Promise.reject(
        new IpcError('CAPACITY', `rdma: over ${this.maxInbound} bytes being read at once`),
      );
    this.inboundBytes += length;
    const into = this.allocReceive(length);
    return this.peer
      .read(r.region, into, 0)
      .then(
        (copied) => {
          const crc = typeof copied === 'number' ? copied : this.crc32c(into);
          if (crc !== r.crc)
            throw new IpcError(
              'PROTOCOL',
              `rdma: CRC32C mismatch on a ${length}-byte rendezvous (expected 0x${r.crc.toString(16)}, read 0x${crc.toString(16)})`,
              { details: { expected: r.crc, actual: crc } },
            );
          this.sendControl(encodeRelease({ id: r.id, ok: true }));
          return into;
        },
        (err: unknown) => {
          throw providerError(this.endpoint.provider, err);
        },
      )
      .catch((err: unknown) => {
        const error = IpcError.from(err);
        this.sendControl(encodeRelease({ id: r.id, ok: false, reason: error.message }));
        throw error;
      })
      .finally(() => {
        this.inboundBytes -= length;
      });
  }

  /** Delivers `message` (or the frame read for it) after everything queued before it. */
  private enqueue(message: Uint8Array | Promise<Buffer>): void {
    const parts = this.parts;
    if (!(message instanceof Uint8Array) || parts.length > 0 || this.queued > 0) {
      this.parts = [];
      this.queued++;
      this.tail = this.tail.then(async () => {
        try {
          const bytes = await message;
          const buffers = await Promise.all(parts);
          if (this.closed) return;
          if (buffers.length > 0) attachments.set(bytes, buffers);
          this.deliver(bytes);
        } catch (err) {
          this.fail(IpcError.from(err));
        } finally {
          this.queued--;
        }
      });
      return;
    }
    this.deliver(message);
  }

  private receive(r: Rendezvous): void {
    const read = this.startRead(r);
    if (!r.part) {
      this.enqueue(read);
      return;
    }
    if (this.parts.length >= MAX_OUT_OF_BAND) {
      read.catch(() => {});
      this.fail(
        new IpcError('PROTOCOL', `rdma: more than ${MAX_OUT_OF_BAND} out-of-band values for one message`),
      );
      return;
    }
    read.catch(() => {}); // awaited by enqueue; this keeps an early failure from going unhandled
    this.parts.push(read);
  }

  /** Closes after a failure: a clean close of the control link lets queued RELEASEs leave first. */
  private fail(error: IpcError): void {
    if (this.closed) return;
    this.closeError ??= error;
    this.control.close();
    this.finish(error);
  }

  private sendControl(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      void this.control.send(frame);
    } catch {
      // closed meanwhile
    }
  }
}
