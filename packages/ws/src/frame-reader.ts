/**
 * Reads the WebSocket frames that need nothing of ws's Receiver (RFC 6455 §5.2): complete,
 * unfragmented text or binary frames (FIN set, no extension bits), masked as the side requires
 * (§5.3), within the payload limit, text that is valid UTF-8. Anything else (control frames,
 * fragments, a frame cut at the end of a read, a protocol error) is left where it starts, for
 * ws's Receiver to handle exactly as it always does.
 */
import { isUtf8 } from 'node:buffer';
import { applyMask, publicUtf8, type Utf8Codec } from './buffer-util.js';

const FIN_TEXT = 0x81;
const FIN_BINARY = 0x82;
const MASK_BIT = 0x80;

export class FrameReader {
  /** The last frame read: its payload (a string for text), and where the next frame starts. */
  payload: string | Buffer = '';
  end = 0;

  /**
   * @param masked frames must be masked (a server reads a client's frames) or must not be.
   * @param utf8 how text is read (Buffer's public `toString` unless the fast path gives another).
   */
  constructor(
    readonly masked: boolean,
    private readonly utf8: Utf8Codec = publicUtf8,
  ) {}

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
    if (this.masked) applyMask(chunk, keyAt, p, length);
    if (b0 === FIN_BINARY) {
      this.payload = chunk.subarray(p, end);
    } else {
      const text = this.utf8.slice(chunk, p, end);
      // Invalid UTF-8 decodes to U+FFFD; only then is the payload checked (it may be a real one).
      if (text.includes('\ufffd') && !isUtf8(chunk.subarray(p, end))) {
        if (this.masked) applyMask(chunk, keyAt, p, length);
        return false;
      }
      this.payload = text;
    }
    this.end = end;
    return true;
  }
}
