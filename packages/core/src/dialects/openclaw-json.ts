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

/** JSON of a field's value as it appears inside the wire object (undefined: omitted there). */
const fieldJson = (v: unknown): string | undefined => (v === undefined ? 'null' : JSON.stringify(v));

/**
 * The frame of a request or response with string fields, written around the JSON of its one
 * free-form value (params, result) without making the wire object: the same text as
 * stringifyJson(toOpenclawWire(message)), at about half its cost on small messages
 * (docs/benchmarks-nng.md). Undefined when the value has no JSON text of its own (a function, a
 * symbol: the wire object omits such a field) or throws; the caller then takes the general path.
 */
function encodeDirect(message: IpcMessage): string | undefined {
  const p = message.payload;
  const id = message.id;
  if (typeof id !== 'string') return undefined;
  try {
    if (p.type === 'request' && typeof p.method === 'string') {
      const params = fieldJson(p.params);
      if (params === undefined) return undefined;
      return `{"id":${JSON.stringify(id)},"payload":{"type":"request","method":${JSON.stringify(p.method)},"params":${params}}}`;
    }
    if (p.type === 'response' && typeof p.success === 'boolean') {
      const result = fieldJson(p.result);
      const error = p.error ?? null;
      if (result === undefined || (error !== null && typeof error !== 'string')) return undefined;
      return `{"id":${JSON.stringify(id)},"payload":{"type":"response","success":${p.success},"result":${result},"error":${error === null ? 'null' : JSON.stringify(error)}}}`;
    }
  } catch {
    return undefined; // stringifyJson reports it
  }
  return undefined;
}

export const openclawJson: Dialect = {
  name: 'openclaw-ipc',
  frames: 'text',
  cancellable: false,
  encode: (message) => encodeDirect(message) ?? stringifyJson(toOpenclawWire(message)),
  decode: (frame: Frame) => parseMessage(parseJson(typeof frame === 'string' ? frame : decodeUtf8(frame))),
};
