/**
 * Value codecs: plain values <-> bytes. Dialects use them; transports never do. JSON and
 * UTF-8 here, on the platform's TextEncoder/TextDecoder (browser-safe); MessagePack in
 * codec-msgpack.ts, so that a browser bundle of the JSON dialects carries no msgpackr.
 */
import { IpcError } from './errors.js';

export interface Codec {
  readonly name: string;
  /** @throws IpcError SERIALIZATION when the value cannot be encoded. */
  encode(value: unknown): Uint8Array;
  /** @throws IpcError SERIALIZATION when the bytes are not one valid document. */
  decode(bytes: Uint8Array): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Decodes UTF-8 strictly; invalid sequences are a SERIALIZATION error. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new IpcError('SERIALIZATION', 'frame is not valid UTF-8', { cause });
  }
}

export const encodeUtf8 = (text: string): Uint8Array => utf8Encoder.encode(text);

/** Parses JSON text; any failure is a SERIALIZATION error. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new IpcError('SERIALIZATION', `invalid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Serialises to JSON text; cycles and BigInt are a SERIALIZATION error. */
export function stringifyJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('value has no JSON form');
    return text;
  } catch (cause) {
    throw new IpcError('SERIALIZATION', `cannot encode as JSON: ${(cause as Error).message}`, { cause });
  }
}

export const jsonCodec: Codec = {
  name: 'json',
  encode: (value) => encodeUtf8(stringifyJson(value)),
  decode: (bytes) => parseJson(decodeUtf8(bytes)),
};
