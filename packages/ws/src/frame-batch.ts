/**
 * Encodes WebSocket data frames (RFC 6455 §5.2: FIN set, no extension bits, text or binary
 * opcode) back to back into one buffer, so that the frames sent in one tick leave in a single
 * socket write instead of two writes per frame (ws's Sender writes header and payload apart).
 * Client frames are masked with a fresh random key each (§5.3).
 *
 * Memory: the frames are written into a slab shared by every batch of the thread (like Node's
 * Buffer pool), each batch into a contiguous stretch of it. A batch holds no memory of its own
 * between take() and its next add(): an idle connection costs no buffer, however many frames it
 * sent before. take() hands out a stretch that is never written again; the slab is replaced when
 * full and freed by the GC once the last stretch handed out from it is.
 */
import { randomFillSync } from 'node:crypto';
import { applyMask, publicUtf8, type Utf8Codec } from './buffer-util.js';

/** Bytes of the shared slab; a batch that needs more gets a slab of its own size. */
const SLAB_SIZE = 64 * 1024;
/** Random bytes drawn at once for masking keys. */
const RANDOM_POOL_SIZE = 8 * 1024;

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const FIN = 0x80;
const MASK_BIT = 0x80;

let randomPool: Buffer | undefined;
let randomOffset = RANDOM_POOL_SIZE;

/** Writes four random bytes (a masking key) at `at`. */
function writeMaskKey(target: Buffer, at: number): void {
  if (randomOffset === RANDOM_POOL_SIZE) {
    randomPool ??= Buffer.allocUnsafe(RANDOM_POOL_SIZE);
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const pool = randomPool!;
  target[at] = pool[randomOffset]!;
  target[at + 1] = pool[randomOffset + 1]!;
  target[at + 2] = pool[randomOffset + 2]!;
  target[at + 3] = pool[randomOffset + 3]!;
  randomOffset += 4;
}

/** Length of the frame header for a payload of `length` bytes. */
const headerSize = (length: number, masked: boolean): number =>
  (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);

const EMPTY = Buffer.allocUnsafe(0);

/** The slab batches write into, and where its unused part starts. */
let shared: Buffer = EMPTY;
let sharedEnd = 0;

export class FrameBatch {
  /** The slab of the frames not yet taken (EMPTY when there are none). */
  private slab: Buffer = EMPTY;
  /** Where the frames not yet taken start in the slab. */
  private start = 0;
  /** Where the next frame goes. */
  private end = 0;
  /** Whether `slab` is this batch's alone (made for frames larger than the shared slab). */
  private ownSlab = false;
  /** Frames added since the last take(). */
  count = 0;

  /**
   * @param masked mask every frame (a client's frames must be masked, a server's must not).
   * @param utf8 how text is written (Buffer's public `write` unless the fast path gives another).
   */
  constructor(
    readonly masked: boolean,
    private readonly utf8: Utf8Codec = publicUtf8,
  ) {}

  /** Bytes added since the last take(). */
  get size(): number {
    return this.end - this.start;
  }

  /** Bytes of slab this batch holds: 0 between take() and the next add(). */
  get heldBytes(): number {
    return this.slab.length;
  }

  /** Appends one frame: a string as a text frame (UTF-8), bytes as a binary frame. */
  add(payload: string | Uint8Array): void {
    if (typeof payload === 'string') this.addText(payload);
    else this.addFrame(OPCODE_BINARY, payload, payload.byteLength);
    this.count++;
    // The shared slab's unused part starts after this frame (if the batch writes into it).
    if (this.slab === shared) sharedEnd = this.end;
  }

  private addText(text: string): void {
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit. The text is written first and its length filled
    // in after, which saves a pass over it: with the header its shortest length needs, moved
    // along when the text turns out longer (a 2-byte length for short text that is not ASCII).
    const most = text.length * 3;
    if (text.length >= 126 && most >= 65536) {
      this.addFrame(OPCODE_TEXT, text, Buffer.byteLength(text, 'utf8'));
      return;
    }
    const mask = this.masked ? 4 : 0;
    // Room for the longest header and the longest text.
    this.reserve(4 + mask + most);
    const start = this.end;
    const buf = this.slab;
    let header = (text.length < 126 ? 2 : 4) + mask;
    const length = this.utf8.write(buf, text, start + header, most);
    if (length >= 126 && header === 2 + mask) {
      buf.copyWithin(start + header + 2, start + header, start + header + length);
      header += 2;
    }
    buf[start] = FIN | OPCODE_TEXT;
    const maskBit = this.masked ? MASK_BIT : 0;
    if (length < 126) buf[start + 1] = maskBit | length;
    else {
      buf[start + 1] = maskBit | 126;
      buf.writeUInt16BE(length, start + 2);
    }
    const at = start + header;
    if (this.masked) {
      const keyAt = at - 4;
      writeMaskKey(buf, keyAt);
      applyMask(buf, keyAt, at, length);
    }
    this.end = at + length;
  }

  /** Appends a frame whose payload is `length` bytes long. */
  private addFrame(opcode: number, payload: string | Uint8Array, length: number): void {
    this.reserve(headerSize(length, this.masked) + length);
    const buf = this.slab;
    let at = this.end;
    buf[at] = FIN | opcode;
    const maskBit = this.masked ? MASK_BIT : 0;
    if (length < 126) {
      buf[at + 1] = maskBit | length;
      at += 2;
    } else if (length < 65536) {
      buf[at + 1] = maskBit | 126;
      buf.writeUInt16BE(length, at + 2);
      at += 4;
    } else {
      buf[at + 1] = maskBit | 127;
      buf.writeUInt32BE(Math.floor(length / 2 ** 32), at + 2);
      buf.writeUInt32BE(length >>> 0, at + 6);
      at += 10;
    }
    const keyAt = at;
    if (this.masked) {
      writeMaskKey(buf, at);
      at += 4;
    }
    if (typeof payload === 'string') this.utf8.write(buf, payload, at, length);
    else buf.set(payload, at);
    if (this.masked) applyMask(buf, keyAt, at, length);
    this.end = at + length;
  }

  /**
   * The frames added since the last take(), as one buffer the caller owns (it is never written
   * to again), or undefined when there are none.
   */
  take(): Buffer | undefined {
    if (this.end === this.start) return undefined;
    const out = this.slab.subarray(this.start, this.end);
    this.slab = EMPTY;
    this.ownSlab = false;
    this.start = 0;
    this.end = 0;
    this.count = 0;
    return out;
  }

  /**
   * Makes room for `bytes` more after the pending frames, which must stay contiguous: they grow
   * in place while they end where the shared slab's unused part starts (no other batch has
   * written since), else they move to the unused part, or to a new slab when it is too small.
   */
  private reserve(bytes: number): void {
    const slab = this.slab;
    if (this.end + bytes <= slab.length && (slab === shared ? this.end === sharedEnd : this.ownSlab)) return;
    const pending = this.end - this.start;
    const need = pending + bytes;
    this.ownSlab = false;
    if (sharedEnd + need > shared.length) {
      // A batch larger than the slab gets its own; the shared one stays for the others.
      if (need > SLAB_SIZE) {
        const own = Buffer.allocUnsafe(need);
        if (pending > 0) slab.copy(own, 0, this.start, this.end);
        this.slab = own;
        this.ownSlab = true;
        this.start = 0;
        this.end = pending;
        return;
      }
      shared = Buffer.allocUnsafe(SLAB_SIZE);
      sharedEnd = 0;
    }
    if (pending > 0) slab.copy(shared, sharedEnd, this.start, this.end);
    this.slab = shared;
    this.start = sharedEnd;
    this.end = sharedEnd + pending;
    sharedEnd = this.end;
  }
}
