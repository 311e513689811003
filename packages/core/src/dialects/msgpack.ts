/**
 * Our MessagePack dialect: the canonical IpcMessage as a MessagePack map, with the optional
 * error context (code, details, retryable, retryAfterMs) kept. Peers in any language decode it
 * with a standard MessagePack library; the field names are those of the openclaw-ipc crate.
 * Canonical messages take the hand-written envelope codec (msgpack-envelope-encode.ts, -decode.ts); anything else
 * the general codec, which defines the errors.
 */
import { msgpackCodec } from '../codec-msgpack.js';
import type { Dialect } from '../dialect.js';
import { IpcError } from '../errors.js';
import { type IpcMessage, parseMessage } from '../message.js';
import type { Frame } from '../transport.js';
import { decodeEnvelope } from './msgpack-envelope-decode.js';
import { encodeEnvelope } from './msgpack-envelope-encode.js';

export const msgpackDialect: Dialect = {
  name: 'msgpack',
  frames: 'binary',
  cancellable: true,
  // Our own format: ids are opaque strings (the client numbers its requests).
  opaqueIds: true,
  carries: { deadline: true, progress: true, stream: true },
  encode: (message) => encodeEnvelope(message) ?? msgpackCodec.encode(message),
  decode(frame: Frame) {
    if (typeof frame === 'string') throw new IpcError('PROTOCOL', 'msgpack dialect received a text frame');
    let message: IpcMessage | undefined;
    try {
      message = decodeEnvelope(frame);
    } catch (cause) {
      throw new IpcError('SERIALIZATION', `invalid MessagePack: ${(cause as Error).message}`, { cause });
    }
    return message ?? parseMessage(msgpackCodec.decode(frame));
  },
};
