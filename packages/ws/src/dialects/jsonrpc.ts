/**
 * The JSON-RPC 2.0 dialect (https://www.jsonrpc.org/specification) over text frames.
 *
 * - Requests and responses map to canonical messages; a notification is a canonical event (and
 *   server events go out as notifications). Batches decode to arrays and their replies leave as
 *   one array frame.
 * - Canonical ids are strings; JSON-RPC ids may be strings, numbers or null. A string id stays
 *   as it is and the others get a reserved prefix (see {@link toCanonicalId}), so that a reply
 *   echoes the exact id the peer sent.
 * - Error codes: the standard ones map to and from the engine's codes (METHOD_NOT_FOUND is
 *   -32601, PROTOCOL is -32602, INTERNAL is -32603, a frame that is not JSON is -32700, a
 *   document that is not a request is -32600); other string codes travel as -32000 with the
 *   string in `error.data.code`; numeric application codes cross as they are.
 * - `$/cancelRequest {id}` is the canonical CANCEL_EVENT; `$/subscribe {topic}` and
 *   `$/unsubscribe {topic}` are plain requests.
 * - Our extensions (docs/wire-formats.md): a request may carry the members `timeoutMs`,
 *   `progress` and `stream` beside `id`; the notifications `$/progress`, `$/stream/item` and
 *   `$/stream/credit` name their request by its JSON-RPC id in `params.id`.
 */
import {
  CANCEL_EVENT,
  type Dialect,
  decodeUtf8,
  type EventPayload,
  type Frame,
  type IpcError,
  IpcError as IpcErrorClass,
  type IpcMessage,
  newMessageId,
  PROGRESS_EVENT,
  type ResponsePayload,
  readRequestExtras,
  STREAM_CREDIT_EVENT,
  STREAM_ITEM_EVENT,
  stringifyJson,
} from '@openclaw-ipc/core';

/** The standard JSON-RPC error codes. */
export const JsonRpcErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Start of the implementation-defined server error range (-32000 to -32099). */
  SERVER_ERROR: -32000,
} as const;

/** The wire name of the canonical CANCEL_EVENT. */
export const JSONRPC_CANCEL_METHOD = '$/cancelRequest';

/** Engine code -> JSON-RPC code. Codes not listed travel as SERVER_ERROR with data.code. */
const toWireCode: Record<string, number> = {
  METHOD_NOT_FOUND: -32601,
  PROTOCOL: -32602,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
};
/** JSON-RPC code -> engine code, for peers that send no data.code. */
const fromWireCode: Record<number, string> = {
  [-32700]: 'SERIALIZATION',
  [-32600]: 'PROTOCOL',
  [-32601]: 'METHOD_NOT_FOUND',
  [-32602]: 'PROTOCOL',
  [-32603]: 'INTERNAL',
};

// A canonical id that is not a plain string starts with this character; a wire string that
// starts with it is escaped, so the mapping is one-to-one.
const MARK = '\u0000';
/** The canonical id of a request whose own id was invalid (answered with id null). */
const INVALID_ID = `${MARK}invalid`;

/** The canonical (string) form of a JSON-RPC id. */
export function toCanonicalId(id: string | number | null): string {
  if (typeof id === 'string') return id.startsWith(MARK) ? `${MARK}s${id}` : id;
  if (id === null) return `${MARK}z`;
  // A finite number's string is the text JSON.stringify writes for it.
  return `${MARK}n${id}`;
}

/** The JSON-RPC id of a canonical id (inverse of {@link toCanonicalId}). */
export function toWireId(id: string): string | number | null {
  if (!id.startsWith(MARK)) return id;
  const kind = id.charAt(1);
  if (kind === 's') return id.slice(2);
  if (kind === 'n') return Number(id.slice(2));
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isValidId = (id: unknown): id is string | number | null =>
  typeof id === 'string' || id === null || (typeof id === 'number' && Number.isFinite(id));

const invalid = (why: string) => new IpcErrorClass('PROTOCOL', `invalid JSON-RPC message: ${why}`);

/** Method name of the canonical request that stands for an invalid element of a batch. */
export const INVALID_ELEMENT_METHOD = '$/jsonrpc/invalid';

function decodeOne(value: unknown, inBatch: boolean): IpcMessage {
  if (!isObject(value)) {
    if (inBatch) return invalidElement('not an object');
    throw invalid('not an object');
  }
  if (value.jsonrpc !== '2.0') return invalidOr(inBatch, value, '`jsonrpc` is not "2.0"');
  const hasId = 'id' in value;
  if (hasId && !isValidId(value.id))
    return invalidOr(inBatch, undefined, '`id` is not a string, number or null');
  if (typeof value.method === 'string') {
    // The specification wants structured params; primitives are accepted (and sent) too,
    // because the engine lets callers pass any JSON value.
    const p = value.params === undefined ? {} : value.params;
    if (!hasId) {
      if (value.method === JSONRPC_CANCEL_METHOD) {
        const target = isObject(p) && isValidId(p.id) ? toCanonicalId(p.id) : undefined;
        // `reason: "TIMEOUT"` (our extension): the caller timed out rather than gave up.
        const data =
          isObject(p) && p.reason === 'TIMEOUT' ? { id: target, reason: 'TIMEOUT' } : { id: target };
        return { id: newMessageId(), payload: { type: 'event', event_type: CANCEL_EVENT, data } };
      }
      if (ID_EVENTS.has(value.method) && isObject(p)) {
        const target = isValidId(p.id) ? toCanonicalId(p.id) : undefined;
        return {
          id: newMessageId(),
          payload: { type: 'event', event_type: value.method, data: { ...p, id: target } },
        };
      }
      return { id: newMessageId(), payload: { type: 'event', event_type: value.method, data: p } };
    }
    return {
      id: toCanonicalId(value.id as string | number | null),
      payload: readRequestExtras(
        { type: 'request', method: value.method, params: p },
        value.timeoutMs,
        value.progress,
        value.stream,
      ),
    };
  }
  if ('method' in value) return invalidOr(inBatch, value, '`method` is not a string');
  if (!hasId) throw invalid('neither a request nor a response');
  const id = toCanonicalId(value.id as string | number | null);
  if ('result' in value && !('error' in value)) {
    return {
      id,
      payload: {
        type: 'response',
        success: true,
        result: value.result === undefined ? null : value.result,
        error: null,
      },
    };
  }
  if (isObject(value.error) && !('result' in value)) return { id, payload: decodeError(value.error) };
  throw invalid('a response needs exactly one of `result` and `error`');
}

function decodeError(error: Record<string, unknown>): ResponsePayload {
  const message = typeof error.message === 'string' ? error.message : 'remote error';
  const out: ResponsePayload = { type: 'response', success: false, result: null, error: message };
  const data = error.data;
  const wireCode = typeof error.code === 'number' ? error.code : undefined;
  if (isObject(data) && typeof data.code === 'string') {
    out.code = data.code;
    if (data.details !== undefined) out.details = data.details;
    if (typeof data.retryable === 'boolean') out.retryable = data.retryable;
    if (typeof data.retryAfterMs === 'number') out.retryAfterMs = data.retryAfterMs;
    return out;
  }
  if (wireCode !== undefined) out.code = fromWireCode[wireCode] ?? wireCode;
  if (data !== undefined) out.details = data;
  return out;
}

/** Inside a batch an invalid element becomes a request answered -32600; alone it throws. */
function invalidOr(inBatch: boolean, value: Record<string, unknown> | undefined, why: string): IpcMessage {
  if (!inBatch) {
    const err = invalid(why);
    // The id, when valid, lets the error reply name the request (decodeErrorReply reads it).
    if (value && 'id' in value && isValidId(value.id))
      Object.defineProperty(err, 'jsonrpcId', { value: value.id });
    throw err;
  }
  const id = value && 'id' in value && isValidId(value.id) ? value.id : null;
  return invalidElement(why, id);
}

function invalidElement(why: string, id: string | number | null = null): IpcMessage {
  // The canonical id must be unique within the connection; the wire id is restored on encode.
  return {
    id: `${INVALID_ID}${newMessageId()}|${JSON.stringify(id)}`,
    payload: { type: 'request', method: INVALID_ELEMENT_METHOD, params: { reason: why } },
  };
}

function wireIdOf(canonicalId: string): string | number | null {
  if (canonicalId.startsWith(INVALID_ID)) {
    const text = canonicalId.slice(canonicalId.indexOf('|') + 1);
    return JSON.parse(text) as string | number | null;
  }
  return toWireId(canonicalId);
}

function encodeResponseObject(id: string, p: ResponsePayload): Record<string, unknown> {
  if (id.startsWith(INVALID_ID)) {
    return {
      jsonrpc: '2.0',
      error: { code: JsonRpcErrorCode.INVALID_REQUEST, message: 'Invalid Request' },
      id: wireIdOf(id),
    };
  }
  if (p.success)
    return { jsonrpc: '2.0', result: p.result === undefined ? null : p.result, id: toWireId(id) };
  return { jsonrpc: '2.0', error: encodeErrorObject(p), id: toWireId(id) };
}

function encodeErrorObject(p: ResponsePayload): Record<string, unknown> {
  const message = p.error ?? 'error';
  const code = p.code;
  if (typeof code === 'number') {
    return p.details === undefined ? { code, message } : { code, message, data: p.details };
  }
  const standard = code === undefined ? JsonRpcErrorCode.INTERNAL_ERROR : toWireCode[code];
  const extra = p.details !== undefined || p.retryable !== undefined || p.retryAfterMs !== undefined;
  if (standard !== undefined && !extra && (code === undefined || fromWireCode[standard] === code))
    return { code: standard, message };
  const data: Record<string, unknown> = { code: code ?? 'INTERNAL' };
  if (p.details !== undefined) data.details = p.details;
  if (p.retryable !== undefined) data.retryable = p.retryable;
  if (p.retryAfterMs !== undefined) data.retryAfterMs = p.retryAfterMs;
  return { code: standard ?? JsonRpcErrorCode.SERVER_ERROR, message, data };
}

/** Our notifications whose `params.id` names a request (mapped like `$/cancelRequest`'s). */
const ID_EVENTS = new Set([PROGRESS_EVENT, STREAM_ITEM_EVENT, STREAM_CREDIT_EVENT]);

function encodeObject(message: IpcMessage): Record<string, unknown> {
  const p = message.payload;
  switch (p.type) {
    case 'request': {
      const out: Record<string, unknown> = {
        jsonrpc: '2.0',
        method: p.method,
        params: p.params === undefined ? {} : p.params,
        id: toWireId(message.id),
      };
      if (p.timeoutMs !== undefined) out.timeoutMs = p.timeoutMs;
      if (p.progress !== undefined) out.progress = p.progress;
      if (p.stream !== undefined) out.stream = p.stream;
      return out;
    }
    case 'response':
      return encodeResponseObject(message.id, p);
    case 'event':
      return encodeEvent(p);
  }
}

function encodeEvent(p: EventPayload): Record<string, unknown> {
  if (p.event_type === CANCEL_EVENT) {
    const { id, reason } = (p.data ?? {}) as { id?: unknown; reason?: unknown };
    const params: Record<string, unknown> = { id: typeof id === 'string' ? toWireId(id) : null };
    if (reason === 'TIMEOUT') params.reason = reason;
    return { jsonrpc: '2.0', method: JSONRPC_CANCEL_METHOD, params };
  }
  if (ID_EVENTS.has(p.event_type) && isObject(p.data) && typeof p.data.id === 'string') {
    return { jsonrpc: '2.0', method: p.event_type, params: { ...p.data, id: toWireId(p.data.id) } };
  }
  return { jsonrpc: '2.0', method: p.event_type, params: p.data === undefined ? null : p.data };
}

function parse(frame: Frame): unknown {
  const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new IpcErrorClass('SERIALIZATION', `Parse error: ${(cause as Error).message}`, { cause });
  }
}

const errorFrame = (code: number, message: string, id: string | number | null = null): string =>
  stringifyJson({ jsonrpc: '2.0', error: { code, message }, id });

/** Characters JSON.stringify may escape in a string (ids such as UUIDs have none). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly the control characters
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The JSON text of the wire id of a canonical id, or undefined for an invalid batch element. */
function wireIdJson(id: string): string | undefined {
  if (id.charCodeAt(0) !== 0) return needsEscape.test(id) ? JSON.stringify(id) : `"${id}"`;
  switch (id.charAt(1)) {
    case 'n':
      // toCanonicalId kept the number as JSON.stringify wrote it.
      return id.slice(2);
    case 's':
      return JSON.stringify(id.slice(2));
    case 'z':
      return 'null';
    default:
      return undefined;
  }
}

/**
 * The frame of a request or a successful response written by concatenation: the same bytes as
 * stringifying the object of encodeObject (same keys, same order), without building that object.
 * Undefined for the other messages and for values JSON.stringify cannot write (the general path
 * then reports them).
 */
function encodeCommon(message: IpcMessage): string | undefined {
  const p = message.payload;
  if (p.type === 'event' || (p.type === 'response' && !p.success)) return undefined;
  const id = wireIdJson(message.id);
  if (id === undefined) return undefined;
  try {
    if (p.type === 'response') {
      const result = p.result === undefined ? 'null' : JSON.stringify(p.result);
      return result === undefined ? undefined : `{"jsonrpc":"2.0","result":${result},"id":${id}}`;
    }
    const params = p.params === undefined ? '{}' : JSON.stringify(p.params);
    if (params === undefined) return undefined;
    if (p.progress !== undefined || p.stream !== undefined) return undefined;
    const timeout = p.timeoutMs;
    if (timeout !== undefined) {
      if (!Number.isInteger(timeout)) return undefined;
      return `{"jsonrpc":"2.0","method":${JSON.stringify(p.method)},"params":${params},"id":${id},"timeoutMs":${timeout}}`;
    }
    return `{"jsonrpc":"2.0","method":${JSON.stringify(p.method)},"params":${params},"id":${id}}`;
  } catch {
    return undefined;
  }
}

export const jsonRpcDialect: Dialect = {
  name: 'jsonrpc',
  frames: 'text',
  cancellable: true,
  // JSON-RPC ids are opaque to the peer (a string, a number or null): numbered, not UUIDs.
  opaqueIds: true,
  // Sent as JSON numbers: V8's JSON.parse interns string values of up to 10 characters, so a
  // Node peer reading "id":"123456" adds an entry per request to its string table (malloc'd,
  // kept until a full GC), whose growth and regrowth raised a server's RSS by 10 % over 10^6
  // requests (bench/scale's soak); a number adds nothing.
  countedId: toCanonicalId,
  carries: { deadline: true, progress: true, stream: true },
  encode: (message) => encodeCommon(message) ?? stringifyJson(encodeObject(message)),
  decode(frame) {
    const value = parse(frame);
    if (!Array.isArray(value)) return decodeOne(value, false);
    if (value.length === 0) throw invalid('empty batch');
    return value.map((element) => decodeOne(element, true));
  },
  encodeBatch: (messages) => stringifyJson(messages.map(encodeObject)),
  decodeErrorReply(error: IpcError) {
    if (error.code === 'SERIALIZATION') return errorFrame(JsonRpcErrorCode.PARSE_ERROR, 'Parse error');
    const id = (error as IpcError & { jsonrpcId?: string | number | null }).jsonrpcId ?? null;
    return errorFrame(JsonRpcErrorCode.INVALID_REQUEST, 'Invalid Request', id);
  },
};

/** The frame sent to a connection refused for capacity, before closing it. */
export const jsonRpcCapacityReply = (): string =>
  stringifyJson({
    jsonrpc: '2.0',
    error: { code: JsonRpcErrorCode.SERVER_ERROR, message: 'Server at capacity', data: { code: 'CAPACITY' } },
    id: null,
  });
