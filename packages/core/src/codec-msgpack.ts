/**
 * The MessagePack codec, in its standard, interoperable form: maps, arrays, str, bin, no
 * records and no extension types, so that any MessagePack library (Go, Rust, Python) reads it.
 */
import type { Codec } from './codec.js';
import { IpcError } from './errors.js';
import { packr, unpackr } from './msgpackr-config.js';

// msgpackr in standard mode (configured in msgpackr-config.ts).
export const msgpackCodec: Codec = {
  name: 'msgpack',
  encode(value) {
    try {
      return packr.pack(value);
    } catch (cause) {
      throw new IpcError('SERIALIZATION', `cannot encode as MessagePack: ${(cause as Error).message}`, {
        cause,
      });
    }
  },
  decode(bytes) {
    let value: unknown;
    try {
      // unpackMultiple would accept trailing documents; one frame is one document.
      value = unpackr.unpack(bytes);
    } catch (cause) {
      throw new IpcError('SERIALIZATION', `invalid MessagePack: ${(cause as Error).message}`, { cause });
    }
    return value;
  },
};
