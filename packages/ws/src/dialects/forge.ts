/**
 * The forge WebSocket dialect (wire-formats.md §3), byte-compatible with the forge server:
 *
 *   command   {"id":"…","method":"…","params":…}            (params required)
 *   response  {"id":"…","success":true,"result":…} / {"id":"…","success":false,"error":"text"}
 *   event     {"event_type":"…","data":…}                   (no id)
 *
 * A frame that does not parse as a command is answered `{"id":"unknown","success":false,
 * "error":"Invalid JSON: …"}` and the connection stays open. Topic subscriptions are forge's
 * `subscribe{session_id}` / `unsubscribe{session_id}`: the engine's `$/subscribe {topic}` is
 * written as those, so our client subscribes on a forge server as on ours.
 */
import {
  type Dialect,
  decodeUtf8,
  type Frame,
  IpcError,
  type IpcMessage,
  newMessageId,
  SUBSCRIBE_METHOD,
  stringifyJson,
  UNSUBSCRIBE_METHOD,
} from '@openclaw-ipc/core';

/** forge's method names for topic (session) subscriptions. */
export const FORGE_SUBSCRIBE = 'subscribe';
export const FORGE_UNSUBSCRIBE = 'unsubscribe';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (why: string) => new IpcError('PROTOCOL', why);

function parse(frame: Frame): unknown {
  const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new IpcError('SERIALIZATION', (cause as Error).message, { cause });
  }
}

function decodeValue(value: unknown): IpcMessage {
  if (!isObject(value)) throw bad('expected an object');
  if (typeof value.event_type === 'string') {
    if (!('data' in value)) throw bad('missing field `data`');
    return { id: newMessageId(), payload: { type: 'event', event_type: value.event_type, data: value.data } };
  }
  if (typeof value.id !== 'string') throw bad('missing or non-string field `id`');
  if (typeof value.success === 'boolean') {
    if (value.success) {
      return {
        id: value.id,
        payload: { type: 'response', success: true, result: value.result ?? null, error: null },
      };
    }
    const error = typeof value.error === 'string' ? value.error : 'remote error';
    return { id: value.id, payload: { type: 'response', success: false, result: null, error } };
  }
  if (typeof value.method !== 'string') throw bad('missing or non-string field `method`');
  if (!('params' in value)) throw bad('missing field `params`');
  return { id: value.id, payload: { type: 'request', method: value.method, params: value.params } };
}

function encodeRequest(id: string, method: string, params: unknown): string {
  if (method === SUBSCRIBE_METHOD || method === UNSUBSCRIBE_METHOD) {
    const topic = (params as { topic?: unknown } | null)?.topic;
    return stringifyJson({
      id,
      method: method === SUBSCRIBE_METHOD ? FORGE_SUBSCRIBE : FORGE_UNSUBSCRIBE,
      params: { session_id: topic },
    });
  }
  return stringifyJson({ id, method, params: params === undefined ? null : params });
}

export const forgeDialect: Dialect = {
  name: 'forge',
  frames: 'text',
  cancellable: false,
  encode(message) {
    const p = message.payload;
    switch (p.type) {
      case 'request':
        return encodeRequest(message.id, p.method, p.params);
      case 'response':
        return p.success
          ? stringifyJson({ id: message.id, success: true, result: p.result === undefined ? null : p.result })
          : stringifyJson({ id: message.id, success: false, error: p.error ?? 'error' });
      case 'event':
        return stringifyJson({ event_type: p.event_type, data: p.data === undefined ? null : p.data });
    }
  },
  decode: (frame) => decodeValue(parse(frame)),
  decodeErrorReply: (error) =>
    stringifyJson({ id: 'unknown', success: false, error: `Invalid JSON: ${error.message}` }),
};

/** The frame sent to a connection refused for capacity, before closing it. */
export const forgeCapacityReply = (): string =>
  stringifyJson({ id: 'init', success: false, error: 'Server at capacity' });
