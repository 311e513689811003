/**
 * Byte helpers of the frame writer and reader (as ws's lib/buffer-util.js): the masking of
 * RFC 6455 §5.3, and UTF-8 text in and out of buffers. `publicUtf8` uses Buffer's documented
 * methods; the internals module has an unchecked one for the opt-in fast path.
 */

/**
 * XORs `length` bytes at `from` in `buf` with the four-byte masking key at `keyAt` (the key
 * may precede the payload in the same buffer). Masking twice restores the bytes.
 */
export function applyMask(buf: Buffer, keyAt: number, from: number, length: number): void {
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

/** Reads and writes UTF-8 text in buffers. */
export interface Utf8Codec {
  /** The text of the bytes from `start` to `end` (an invalid sequence reads as U+FFFD). */
  slice(buf: Buffer, start: number, end: number): string;
  /** Writes `text` at `at`, at most `most` bytes and no partial character; returns the bytes written. */
  write(buf: Buffer, text: string, at: number, most: number): number;
}

/** UTF-8 through Buffer's documented `toString` and `write`. */
export const publicUtf8: Utf8Codec = {
  slice: (buf, start, end) => buf.toString('utf8', start, end),
  write: (buf, text, at, most) => buf.write(text, at, most, 'utf8'),
};
