/**
 * Length-prefixed framing: a u32 little-endian body length, then the body. The decoder keeps a
 * list of chunks and copies a fragmented frame once when it is whole (never Buffer.concat per
 * chunk), and rejects a frame whose declared length is over the limit as soon as the 4-byte
 * header is read, before any of its body is buffered.
 */
import { IpcError } from '@openclaw-ipc/core';

export const HEADER_SIZE = 4;

export class LengthPrefixedDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Declared length of the frame being assembled, or -1 while its header is incomplete. */
  private expected = -1;

  /**
   * @param maxFrameSize largest accepted body, in bytes.
   * @param onFrame receives each whole body; it owns the buffer.
   */
  constructor(
    readonly maxFrameSize: number,
    private readonly onFrame: (frame: Buffer) => void,
  ) {}

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Feeds bytes as they arrive.
   * @throws IpcError MESSAGE_TOO_LARGE when a header declares a body over the limit; the
   *   decoder is then unusable (the stream cannot be resynchronised).
   */
  push(chunk: Buffer): void {
    // Fast path: nothing buffered and no header pending (a header may have been consumed with
    // its body still to come), so whole frames can be cut out of the chunk without copying.
    if (this.buffered === 0 && this.expected < 0) {
      let offset = 0;
      while (chunk.length - offset >= HEADER_SIZE) {
        const size = chunk.readUInt32LE(offset);
        this.check(size);
        if (chunk.length - offset - HEADER_SIZE < size) break;
        const start = offset + HEADER_SIZE;
        offset = start + size;
        this.onFrame(chunk.subarray(start, offset));
      }
      if (offset === chunk.length) return;
      chunk = chunk.subarray(offset);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drain();
  }

  private check(size: number): void {
    if (size > this.maxFrameSize) {
      this.chunks = [];
      this.buffered = 0;
      throw new IpcError(
        'MESSAGE_TOO_LARGE',
        `frame of ${size} bytes is over the limit of ${this.maxFrameSize}`,
        {
          details: { size, limit: this.maxFrameSize },
        },
      );
    }
  }

  private drain(): void {
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < HEADER_SIZE) return;
        const size = this.peekHeader();
        this.check(size);
        this.expected = size;
        this.consume(HEADER_SIZE);
      }
      if (this.buffered < this.expected) return;
      const frame = this.take(this.expected);
      this.expected = -1;
      this.onFrame(frame);
    }
  }

  private peekHeader(): number {
    const first = this.chunks[0]!;
    if (first.length >= HEADER_SIZE) return first.readUInt32LE(0);
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    let filled = 0;
    for (const c of this.chunks) {
      filled += c.copy(header, filled, 0, Math.min(c.length, HEADER_SIZE - filled));
      if (filled === HEADER_SIZE) break;
    }
    return header.readUInt32LE(0);
  }

  private consume(n: number): void {
    while (n > 0) {
      const first = this.chunks[0]!;
      if (first.length <= n) {
        this.chunks.shift();
        n -= first.length;
        this.buffered -= first.length;
      } else {
        this.chunks[0] = first.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
  }

  /** Removes `n` bytes from the front: a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, take);
      filled += take;
      this.consume(take);
    }
    return out;
  }
}

/** Encodes one frame: header and body in one buffer (one copy, one write). */
export function encodeFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + body.byteLength);
  out.writeUInt32LE(body.byteLength, 0);
  out.set(body, HEADER_SIZE);
  return out;
}

/** The 4-byte header of a body of `size` bytes. */
export function frameHeader(size: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  out.writeUInt32LE(size, 0);
  return out;
}
