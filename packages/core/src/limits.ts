/**
 * Default limits, shared by every package: each is the default of the option of the same name,
 * wherever it applies (docs/core.md, "Limits"). A transport whose peer or format needs another
 * default names it and says why.
 */
export const DEFAULT_LIMITS = {
  /** Largest message or frame, in bytes: 1 MiB. */
  maxMessageSize: 1024 * 1024,
  /** Requests a client keeps in flight (sent or waiting to be sent). */
  maxInFlight: 1024,
  /** Requests a server runs at once for one connection. */
  maxConcurrent: 256,
  /** Connections a server accepts at once. */
  maxConnections: 1024,
  /** Outgoing bytes a link queues before it reports backpressure. */
  highWaterMark: 1024 * 1024,
  /** Outgoing bytes a link queues before it gives up on a slow peer (CAPACITY). */
  maxQueuedBytes: 16 * 1024 * 1024,
  /** Default request timeout, in ms. */
  timeout: 30_000,
  /** Default connect timeout, in ms. */
  connectTimeout: 10_000,
} as const;

/** Node's Buffer when there is one (its byteLength is native); none in a browser. */
const nodeBuffer = (globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }).Buffer;

/** The UTF-8 length of `text` in bytes, without encoding it (a lone surrogate counts 3, as U+FFFD). */
export function utf8ByteLength(text: string): number {
  if (nodeBuffer) return nodeBuffer.byteLength(text, 'utf8');
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (
      c >= 0xd800 &&
      c <= 0xdbff &&
      i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      bytes += 2; // a pair: 2 units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** The size of a frame in bytes (UTF-8 length for text frames). */
export function frameSize(frame: Uint8Array | string): number {
  return typeof frame === 'string' ? utf8ByteLength(frame) : frame.byteLength;
}

/**
 * Whether a frame is over `limit`, computed cheaply: a string of n UTF-16 units has between n
 * and 3n UTF-8 bytes, so the exact count is only needed near the limit.
 */
export function frameOver(frame: Uint8Array | string, limit: number): boolean {
  if (typeof frame !== 'string') return frame.byteLength > limit;
  if (frame.length * 3 <= limit) return false;
  if (frame.length > limit) return true;
  return utf8ByteLength(frame) > limit;
}
