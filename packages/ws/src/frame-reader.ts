/**
 * Reads the WebSocket frames that need nothing of ws's Receiver (RFC 6455 §5.2): complete,
 * unfragmented text or binary frames (FIN set, no extension bits), masked as the side requires
 * (§5.3), within the payload limit, text that is valid UTF-8. Anything else (control frames,
 * fragments, a frame cut at the end of a read, a protocol error) is left where it starts, for
 * ws's Receiver to handle exactly as it always does.
 */
import { isUtf8 } from 'node:buffer';

const FIN_TEXT = 0x81;
const FIN_BINARY = 0x82;
const MASK_BIT = 0x80;

interface Utf8Readable {
  utf8Slice?(start: number, end: number): string;
}
/** Buffer's UTF-8 reader without toString's argument checks, where Node has it. */
const sliceUtf8: (data: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Utf8Readable).utf8Slice === 'function'
    ? (data, start, end) => (data as Utf8Readable).utf8Slice!(start, end)
    : (data, start, end) => data.toString('utf8', start, end);

/** XORs `length` bytes at `from` with the four-byte key at `keyAt` (undoes itself). */
function xorMask(buf: Buffer, keyAt: number, from: number, length: number): void {
  const k0 = buf[keyAt]!;
  const k1 = buf[keyAt + 1]!;
  const k2 = buf[keyAt + 2]!;
  const k3 = buf[keyAt + 3]!;
  if ((k0 | k1 | k2 | k3) === 0) return;
  const end = from + length;
  let i = from;
  for (; i + 3 < end; i += 4) {
    buf[i] = buf[i]! ^ k0;
    buf[i + 1] = buf[i + 1]! ^ k1;
    buf[i + 2] = buf[i + 2]! ^ k2;
    buf[i + 3] = buf[i + 3]! ^ k3;
  }
  for (let j = 0; i < end; i++, j++) buf[i] = buf[i]! ^ buf[keyAt + j]!;
}

export class FrameReader {
  /** The last frame read: its payload (a string for text), and where the next frame starts. */
  payload: string | Buffer = '';
  end = 0;

  /** @param masked frames must be masked (a server reads a client's frames) or must not be. */
  constructor(readonly masked: boolean) {}

  /**
   * Reads the frame that starts at `at` in `chunk` if it is one of those described above:
   * unmasks its payload in place, sets `payload` and `end`, and returns true. Otherwise returns
   * false and leaves `chunk` as it was. `maxPayload` 0 means no limit (as in ws).
   */
  read(chunk: Buffer, at: number, maxPayload: number): boolean {
    const size = chunk.length;
    if (size - at < 2) return false;
    const b0 = chunk[at]!;
    if (b0 !== FIN_TEXT && b0 !== FIN_BINARY) return false;
    const b1 = chunk[at + 1]!;
    if ((b1 & MASK_BIT) !== (this.masked ? MASK_BIT : 0)) return false;
    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      if (size - p < 2) return false;
      length = (chunk[p]! << 8) | chunk[p + 1]!;
      p += 2;
    } else if (length === 127) {
      // Frames of 4 GiB or more are left to ws (it has the 2^53 check).
      if (size - p < 8 || chunk.readUInt32BE(p) !== 0) return false;
      length = chunk.readUInt32BE(p + 4);
      p += 8;
    }
    if (maxPayload > 0 && length > maxPayload) return false;
    const keyAt = p;
    if (this.masked) p += 4;
    if (size - p < length) return false;
    const end = p + length;
    if (this.masked) xorMask(chunk, keyAt, p, length);
    if (b0 === FIN_BINARY) {
      this.payload = chunk.subarray(p, end);
    } else {
      const text = sliceUtf8(chunk, p, end);
      // Invalid UTF-8 decodes to U+FFFD; only then is the payload checked (it may be a real one).
      if (text.includes('\ufffd') && !isUtf8(chunk.subarray(p, end))) {
        if (this.masked) xorMask(chunk, keyAt, p, length);
        return false;
      }
      this.payload = text;
    }
    this.end = end;
    return true;
  }
}
