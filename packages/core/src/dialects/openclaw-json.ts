/**
 * The openclaw-ipc JSON dialect (wire-formats.md §1): one JSON document per frame, exactly as
 * the Rust crate openclaw-ipc writes it. Field order and null handling match serde_json's
 * output for the crate's types, so encoded frames are byte-for-byte the crate's.
 */
import { decodeUtf8, parseJson, stringifyJson } from '../codec.js';
import type { Dialect } from '../dialect.js';
import { type IpcMessage, parseMessage } from '../message.js';
import type { Frame } from '../transport.js';

const nullIfUndefined = (v: unknown) => (v === undefined ? null : v);

/** The wire object for a canonical message: only the fields the crate knows, in its order. */
export function toOpenclawWire(message: IpcMessage): unknown {
  const p = message.payload;
  switch (p.type) {
    case 'request':
      return {
        id: message.id,
        payload: { type: 'request', method: p.method, params: nullIfUndefined(p.params) },
      };
    case 'response':
      return {
        id: message.id,
        payload: {
          type: 'response',
          success: p.success,
          result: nullIfUndefined(p.result),
          error: p.error ?? null,
        },
      };
    case 'event':
      return {
        id: message.id,
        payload: { type: 'event', event_type: p.event_type, data: nullIfUndefined(p.data) },
      };
  }
}

export const openclawJson: Dialect = {
  name: 'openclaw-ipc',
  frames: 'text',
  cancellable: false,
  encode: (message) => stringifyJson(toOpenclawWire(message)),
  decode: (frame: Frame) => parseMessage(parseJson(typeof frame === 'string' ? frame : decodeUtf8(frame))),
};
