/**
 * Our MessagePack dialect: the canonical IpcMessage as a MessagePack map, with the optional
 * error context (code, details, retryable, retryAfterMs) kept. Peers in any language decode it
 * with a standard MessagePack library; the field names are those of the openclaw-ipc crate.
 */
import { msgpackCodec } from '../codec.js';
import type { Dialect } from '../dialect.js';
import { IpcError } from '../errors.js';
import { parseMessage } from '../message.js';
import type { Frame } from '../transport.js';

export const msgpackDialect: Dialect = {
  name: 'msgpack',
  frames: 'binary',
  cancellable: true,
  encode: (message) => msgpackCodec.encode(message),
  decode(frame: Frame) {
    if (typeof frame === 'string') throw new IpcError('PROTOCOL', 'msgpack dialect received a text frame');
    return parseMessage(msgpackCodec.decode(frame));
  },
};
