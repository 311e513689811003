/**
 * Default limits, shared by every package: each is the default of the option of the same name,
 * wherever it applies (docs/core.md, "Limits"). A transport whose peer or format needs another
 * default names it and says why.
 */
import { utf8ByteLength } from './utf8-length.js';

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
  /** Longest a server lets a handler run before aborting its signal, in ms (0: no cap). */
  maxHandlerTime: 0,
  /** Items of a streamed result the server sends ahead of the consumer (`client.stream` option). */
  credit: 16,
  /** Default connect timeout, in ms. */
  connectTimeout: 10_000,
} as const;

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
