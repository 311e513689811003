/**
 * The ipckit dialect: canonical IpcMessage <-> one ipckit file-channel message (wire-formats.md
 * §4), as JSON text. The mapping:
 *
 * - request  {id, payload:{method, params}}      <-> {id, type:"request", method, payload: params}
 * - event    {id, payload:{event_type, data}}    <-> {id, type:"event", method: event_type, payload: data}
 * - response {id: <request id>, payload:{…}}     <-> {id: <its own id>, type:"response",
 *                                                      reply_to: <request id>, payload: result, error?}
 *
 * ipckit carries an error as text only: an error code, details or retry hints are not sent, and
 * a received error response has no code. The response's own id is fresh (ipckit does the same);
 * the canonical side only needs `reply_to`, so no per-link state is kept.
 */
import { randomUUID } from 'node:crypto';
import {
  type Dialect,
  decodeUtf8,
  type Frame,
  IpcError,
  type IpcMessage,
  parseJson,
  stringifyJson,
} from '@openclaw-ipc/core';
import { checkIpckitMessage, type IpckitMessage } from './ipckit-message.js';

/** The ipckit message for a canonical message, stamped `timestamp` (ms). */
export function toIpckit(message: IpcMessage, timestamp: number = Date.now()): IpckitMessage {
  const p = message.payload;
  switch (p.type) {
    case 'request':
      return { id: message.id, timestamp, type: 'request', method: p.method, payload: p.params ?? null };
    case 'event':
      return { id: message.id, timestamp, type: 'event', method: p.event_type, payload: p.data ?? null };
    case 'response': {
      const out: IpckitMessage = {
        id: randomUUID(),
        timestamp,
        type: 'response',
        reply_to: message.id,
        payload: null,
      };
      if (p.success) out.payload = p.result ?? null;
      else out.error = p.error ?? 'error';
      return out;
    }
    default:
      throw new IpcError('SERIALIZATION', 'ipckit: unknown payload type');
  }
}

/** The canonical message for an (already checked) ipckit message. */
export function fromIpckit(m: IpckitMessage): IpcMessage {
  switch (m.type) {
    case 'request':
      return { id: m.id, payload: { type: 'request', method: m.method!, params: m.payload } };
    case 'event':
      return { id: m.id, payload: { type: 'event', event_type: m.method!, data: m.payload } };
    case 'response':
      if (m.error !== undefined) {
        return {
          id: m.reply_to!,
          payload: { type: 'response', success: false, result: null, error: m.error },
        };
      }
      return {
        id: m.reply_to!,
        payload: { type: 'response', success: true, result: m.payload, error: null },
      };
  }
}

export const ipckitDialect: Dialect = {
  name: 'ipckit',
  frames: 'text',
  // ipckit has no way to cancel a request.
  cancellable: false,
  encode: (message) => stringifyJson(toIpckit(message)),
  decode(frame: Frame) {
    const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
    return fromIpckit(checkIpckitMessage(parseJson(text)));
  },
};
