/**
 * The canonical message, modelled on the Rust crate openclaw-ipc so that its JSON is
 * byte-for-byte what that crate writes: `{"id":…,"payload":{"type":…,…}}` with the payload
 * internally tagged by `type`.
 */
import { IpcError } from './errors.js';

export interface RequestPayload {
  type: 'request';
  method: string;
  params: unknown;
  /**
   * Milliseconds the caller still waits for the answer, counted from when the request was
   * written (a duration, so that the two clocks need not agree). Only in dialects that carry it
   * (Dialect.carries.deadline); the server aborts the handler's signal when it runs out.
   */
  timeoutMs?: number;
  /** The caller wants PROGRESS_EVENTs for this request (Dialect.carries.progress). */
  progress?: boolean;
  /**
   * The caller wants the result streamed, and takes up to this many items before it grants
   * more with STREAM_CREDIT_EVENT (Dialect.carries.stream).
   */
  stream?: number;
}

/** Largest `stream` credit window a peer may ask for; a larger one is read as this. */
export const MAX_STREAM_CREDIT = 65_536;

/**
 * Copies the optional request fields of a decoded payload onto `out`, keeping only well-formed
 * ones (as for a response's optional fields): `timeoutMs` a finite number >= 0, `progress`
 * true, `stream` an integer >= 1 (capped at MAX_STREAM_CREDIT). Shared by every decoder, so that
 * each reads a frame the same way.
 */
export function readRequestExtras(
  out: RequestPayload,
  timeoutMs: unknown,
  progress: unknown,
  stream: unknown,
): RequestPayload {
  if (typeof timeoutMs === 'number' && timeoutMs >= 0 && timeoutMs <= Number.MAX_SAFE_INTEGER)
    out.timeoutMs = timeoutMs;
  if (progress === true) out.progress = true;
  if (typeof stream === 'number' && Number.isInteger(stream) && stream >= 1)
    out.stream = Math.min(stream, MAX_STREAM_CREDIT);
  return out;
}

export interface ResponsePayload {
  type: 'response';
  success: boolean;
  result: unknown;
  error: string | null;
  /**
   * Optional error context, kept by dialects that can carry it (JSON-RPC, the gateway, our
   * MessagePack dialect) and left out by those that cannot (openclaw-ipc JSON).
   */
  code?: string | number;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface EventPayload {
  type: 'event';
  event_type: string;
  data: unknown;
}

export type IpcPayload = RequestPayload | ResponsePayload | EventPayload;

export interface IpcMessage<P extends IpcPayload = IpcPayload> {
  id: string;
  payload: P;
}

export type RequestMessage = IpcMessage<RequestPayload>;
export type ResponseMessage = IpcMessage<ResponsePayload>;
export type EventMessage = IpcMessage<EventPayload>;

/**
 * A fresh message id: a UUID v4, as the Rust crate uses. The platform's Web Crypto
 * (`globalThis.crypto`: Node 19+, browsers, Deno, Bun), so that this module runs everywhere.
 */
export const newMessageId = (): string => globalThis.crypto.randomUUID();

/** A request; params default to `{}` (the Rust reader requires the field). */
export function request(method: string, params: unknown = {}, id: string = newMessageId()): RequestMessage {
  return { id, payload: { type: 'request', method, params } };
}

/** A successful response to the request with id `requestId`. */
export function success(requestId: string, result: unknown = null): ResponseMessage {
  return { id: requestId, payload: { type: 'response', success: true, result, error: null } };
}

export interface ErrorResponseInit {
  code?: string | number;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

/** An error response to the request with id `requestId`. */
export function failure(requestId: string, error: string, init: ErrorResponseInit = {}): ResponseMessage {
  const payload: ResponsePayload = { type: 'response', success: false, result: null, error };
  if (init.code !== undefined) payload.code = init.code;
  if (init.details !== undefined) payload.details = init.details;
  if (init.retryable !== undefined) payload.retryable = init.retryable;
  if (init.retryAfterMs !== undefined) payload.retryAfterMs = init.retryAfterMs;
  return { id: requestId, payload };
}

/** An event; data defaults to `{}` (the Rust reader requires the field). */
export function event(eventType: string, data: unknown = {}, id: string = newMessageId()): EventMessage {
  return { id, payload: { type: 'event', event_type: eventType, data } };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const protocolError = (why: string, value?: unknown) =>
  new IpcError('PROTOCOL', `malformed message: ${why}`, value === undefined ? {} : { details: { value } });

/**
 * Checks that `value` has the shape of an IpcMessage and returns it typed. Unknown fields are
 * ignored, as by the Rust reader; missing `params`/`data` are rejected, as by the Rust reader.
 * @throws IpcError PROTOCOL naming what is wrong.
 */
export function parseMessage(value: unknown): IpcMessage {
  if (!isObject(value)) throw protocolError('not an object');
  const { id, payload } = value;
  if (typeof id !== 'string') throw protocolError('`id` is not a string');
  if (!isObject(payload)) throw protocolError('`payload` is not an object');
  switch (payload.type) {
    case 'request':
      if (typeof payload.method !== 'string') throw protocolError('request `method` is not a string');
      if (!('params' in payload)) throw protocolError('request has no `params`');
      return {
        id,
        payload: readRequestExtras(
          { type: 'request', method: payload.method, params: payload.params },
          payload.timeoutMs,
          payload.progress,
          payload.stream,
        ),
      };
    case 'response': {
      if (typeof payload.success !== 'boolean') throw protocolError('response `success` is not a boolean');
      const error = payload.error ?? null;
      if (error !== null && typeof error !== 'string')
        throw protocolError('response `error` is not a string');
      const out: ResponsePayload = {
        type: 'response',
        success: payload.success,
        result: payload.result ?? null,
        error,
      };
      if (typeof payload.code === 'string' || typeof payload.code === 'number') out.code = payload.code;
      if (payload.details !== undefined) out.details = payload.details;
      if (typeof payload.retryable === 'boolean') out.retryable = payload.retryable;
      if (typeof payload.retryAfterMs === 'number') out.retryAfterMs = payload.retryAfterMs;
      return { id, payload: out };
    }
    case 'event':
      if (typeof payload.event_type !== 'string') throw protocolError('event `event_type` is not a string');
      if (!('data' in payload)) throw protocolError('event has no `data`');
      return { id, payload: { type: 'event', event_type: payload.event_type, data: payload.data } };
    default:
      // String() of an arbitrary decoded value can itself throw (e.g. {toString: 0}).
      throw protocolError(
        `unknown payload type ${typeof payload.type === 'string' ? JSON.stringify(payload.type).slice(0, 64) : typeof payload.type}`,
      );
  }
}
