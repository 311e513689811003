/**
 * Writes the IpcMessage envelope in MessagePack by hand when its value (params, result, data)
 * is binary, a string, nil, a boolean or a 32-bit integer: the map `{id, payload: {type,
 * method, params}}` (and the response and event shapes) is then a few short ASCII keys and
 * strings and one value, written here into one buffer of the exact size. The output is
 * standard MessagePack: maps with str keys, as msgpackr writes them.
 *
 * Anything else returns `undefined` (object or array values, a response with `details`, fields
 * of unexpected types), and the general codec encodes the message as before.
 */
import type { IpcMessage, RequestPayload, ResponsePayload } from '../message.js';

/** Writes, sized first then written into one buffer of the exact size. */
const NONE = Buffer.alloc(0);
let out: Buffer = NONE;
let at = 0;

const asciiLength = (s: string): number => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1;
  return s.length;
};

/** UTF-8 byte length of a string (its length when ASCII, checked cheaply for short ones). */
const utf8Length = (s: string): number => {
  if (s.length <= 64) {
    const n = asciiLength(s);
    if (n >= 0) return n;
  }
  return Buffer.byteLength(s, 'utf8');
};

const strHeaderSize = (n: number): number => (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);

function writeHeader(n: number, fix: number, fixLimit: number, code8: number): void {
  // code8: the 8-bit-length type byte; code8 + 1 and + 2 are the 16- and 32-bit ones (str, bin).
  if (n < fixLimit) out[at++] = fix | n;
  else if (n < 0x100) {
    out[at++] = code8;
    out[at++] = n;
  } else if (n < 0x10000) {
    out[at++] = code8 + 1;
    out[at++] = n >>> 8;
    out[at++] = n & 0xff;
  } else {
    out[at++] = code8 + 2;
    out.writeUInt32BE(n, at);
    at += 4;
  }
}

function writeStr(s: string, bytes: number): void {
  writeHeader(bytes, 0xa0, 32, 0xd9);
  if (bytes !== s.length) at += out.write(s, at, bytes, 'utf8');
  else if (bytes > 16) at += out.write(s, at, bytes, 'latin1');
  else {
    const o = out;
    let p = at;
    for (let i = 0; i < bytes; i++) o[p++] = s.charCodeAt(i);
    at = p;
  }
}

/** Pre-encoded keys (fixstr): the envelope's field names. */
const key = (name: string): Uint8Array => Uint8Array.from([0xa0 | name.length, ...Buffer.from(name)]);
const K_ID = key('id');
const K_PAYLOAD = key('payload');
const K_TYPE = key('type');
const K_METHOD = key('method');
const K_PARAMS = key('params');
const K_SUCCESS = key('success');
const K_RESULT = key('result');
const K_ERROR = key('error');
const K_CODE = key('code');
const K_RETRYABLE = key('retryable');
const K_RETRY_AFTER = key('retryAfterMs');
const K_EVENT_TYPE = key('event_type');
const K_DATA = key('data');
const K_TIMEOUT_MS = key('timeoutMs');
const K_PROGRESS = key('progress');
const K_STREAM = key('stream');
const V_REQUEST = key('request');
const V_RESPONSE = key('response');
const V_EVENT = key('event');

function writeBytes(bytes: Uint8Array): void {
  const n = bytes.length;
  if (n > 32) {
    out.set(bytes, at);
    at += n;
    return;
  }
  const o = out;
  let p = at;
  for (let i = 0; i < n; i++) o[p++] = bytes[i]!;
  at = p;
}

/**
 * How a value is written. Other values (objects, arrays, floats, large integers) make the whole
 * message go to msgpackr: packing them separately and copying them in measured slower than
 * msgpackr writing the whole message (bench/unix/engine.ts, "small object").
 */
const NIL = 0;
const BOOL = 1;
const UINT = 2;
const INT = 3;
const STR = 4;
const BIN = 5;

interface ValuePlan {
  kind: number;
  size: number;
  bytes: number;
}

/** Sizes `value` into `plan` (reused: one plan per field slot); false if it is not written here. */
function planValue(value: unknown, plan: ValuePlan): boolean {
  if (value === null || value === undefined) {
    plan.kind = NIL;
    plan.size = 1;
    return true;
  }
  switch (typeof value) {
    case 'boolean':
      plan.kind = BOOL;
      plan.size = 1;
      return true;
    case 'number':
      // The same integer tests as msgpackr; floats and large integers go to msgpackr.
      if (value >>> 0 === value) {
        plan.kind = UINT;
        plan.size = value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
        return true;
      }
      if (value >> 0 === value) {
        plan.kind = INT;
        plan.size = value >= -0x20 ? 1 : value >= -0x80 ? 2 : value >= -0x8000 ? 3 : 5;
        return true;
      }
      break;
    case 'string': {
      const n = utf8Length(value);
      plan.kind = STR;
      plan.bytes = n;
      plan.size = strHeaderSize(n) + n;
      return true;
    }
    case 'object':
      if (value instanceof Uint8Array && (value.constructor === Uint8Array || value.constructor === Buffer)) {
        const n = value.byteLength;
        plan.kind = BIN;
        plan.bytes = n;
        plan.size = (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
        return true;
      }
      break;
  }
  return false;
}

function writeValue(value: unknown, plan: ValuePlan): void {
  switch (plan.kind) {
    case NIL:
      out[at++] = 0xc0;
      return;
    case BOOL:
      out[at++] = value ? 0xc3 : 0xc2;
      return;
    case UINT: {
      const v = value as number;
      if (v < 0x80) out[at++] = v;
      else if (v < 0x100) {
        out[at++] = 0xcc;
        out[at++] = v;
      } else if (v < 0x10000) {
        out[at++] = 0xcd;
        out[at++] = v >>> 8;
        out[at++] = v & 0xff;
      } else {
        out[at++] = 0xce;
        out.writeUInt32BE(v, at);
        at += 4;
      }
      return;
    }
    case INT: {
      const v = value as number;
      if (v >= -0x20) out[at++] = v & 0xff;
      else if (v >= -0x80) {
        out[at++] = 0xd0;
        out[at++] = v & 0xff;
      } else if (v >= -0x8000) {
        out[at++] = 0xd1;
        out.writeInt16BE(v, at);
        at += 2;
      } else {
        out[at++] = 0xd2;
        out.writeInt32BE(v, at);
        at += 4;
      }
      return;
    }
    case STR:
      writeStr(value as string, plan.bytes);
      return;
    default:
      writeHeader(plan.bytes, 0, 0, 0xc4);
      writeBytes(value as Uint8Array);
  }
}

const planA: ValuePlan = { kind: 0, size: 0, bytes: 0 };
const planB: ValuePlan = { kind: 0, size: 0, bytes: 0 };

/**
 * A request or an event: `{type, <name key>: name, <body key>: body}`, the body planned in planA.
 * `size` counts the bytes before the payload's fields.
 */
function encodeNamed(
  id: string,
  idBytes: number,
  size: number,
  type: Uint8Array,
  nameKey: Uint8Array,
  name: string,
  bodyKey: Uint8Array,
  body: unknown,
): Uint8Array {
  const n = utf8Length(name);
  const total =
    size + K_TYPE.length + type.length + nameKey.length + strHeaderSize(n) + n + bodyKey.length + planA.size;
  begin(total, id, idBytes, 3);
  writeBytes(K_TYPE);
  writeBytes(type);
  writeBytes(nameKey);
  writeStr(name, n);
  writeBytes(bodyKey);
  writeValue(body, planA);
  return finish(total);
}

/**
 * Encodes a canonical message; `undefined` when it is not one this fast path writes (a response
 * with `details`, fields of unexpected types), for the general codec to encode.
 */
export function encodeEnvelope(message: IpcMessage): Uint8Array | undefined {
  const id = message.id;
  const p = message.payload;
  if (typeof id !== 'string' || typeof p !== 'object' || p === null) return undefined;
  // Whether the value is one written here is checked first: most other messages stop there.
  const value = p.type === 'request' ? p.params : p.type === 'event' ? p.data : p.result;
  if (!planValue(value, planA)) return undefined;
  const idBytes = utf8Length(id);
  // fixmap(2) "id" <id> "payload" fixmap(n)
  const size = 1 + K_ID.length + strHeaderSize(idBytes) + idBytes + K_PAYLOAD.length + 1;
  switch (p.type) {
    case 'request':
      if (typeof p.method !== 'string') return undefined;
      if (p.timeoutMs !== undefined || p.progress !== undefined || p.stream !== undefined)
        return encodeRequestWithExtras(id, idBytes, size, p);
      return encodeNamed(id, idBytes, size, V_REQUEST, K_METHOD, p.method, K_PARAMS, p.params);
    case 'event':
      if (typeof p.event_type !== 'string') return undefined;
      return encodeNamed(id, idBytes, size, V_EVENT, K_EVENT_TYPE, p.event_type, K_DATA, p.data);
    case 'response':
      return encodeResponse(id, idBytes, p, size);
    default:
      return undefined;
  }
}

/** Sizes of a uint written by writeValue (the extras' values are checked to be uint32 first). */
const uintSize = (v: number): number => (v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5);
const isUint32 = (v: unknown): v is number => typeof v === 'number' && v >>> 0 === v;

/**
 * A request with its optional fields (`timeoutMs`, `progress`, `stream`): the plain request's
 * fields, then those present, in that order. Values other than uint32 / `true` go to msgpackr.
 */
function encodeRequestWithExtras(
  id: string,
  idBytes: number,
  size: number,
  p: RequestPayload,
): Uint8Array | undefined {
  const { timeoutMs, progress, stream } = p;
  if (timeoutMs !== undefined && !isUint32(timeoutMs)) return undefined;
  if (progress !== undefined && progress !== true) return undefined;
  if (stream !== undefined && !isUint32(stream)) return undefined;
  const n = utf8Length(p.method);
  let fields = 3;
  size += K_TYPE.length + V_REQUEST.length + K_METHOD.length + strHeaderSize(n) + n;
  size += K_PARAMS.length + planA.size;
  if (timeoutMs !== undefined) {
    size += K_TIMEOUT_MS.length + uintSize(timeoutMs);
    fields++;
  }
  if (progress !== undefined) {
    size += K_PROGRESS.length + 1;
    fields++;
  }
  if (stream !== undefined) {
    size += K_STREAM.length + uintSize(stream);
    fields++;
  }
  begin(size, id, idBytes, fields);
  writeBytes(K_TYPE);
  writeBytes(V_REQUEST);
  writeBytes(K_METHOD);
  writeStr(p.method, n);
  writeBytes(K_PARAMS);
  writeValue(p.params, planA);
  if (timeoutMs !== undefined) {
    writeBytes(K_TIMEOUT_MS);
    planB.kind = UINT;
    writeValue(timeoutMs, planB);
  }
  if (progress !== undefined) {
    writeBytes(K_PROGRESS);
    out[at++] = 0xc3;
  }
  if (stream !== undefined) {
    writeBytes(K_STREAM);
    planB.kind = UINT;
    writeValue(stream, planB);
  }
  return finish(size);
}

function encodeResponse(
  id: string,
  idBytes: number,
  p: ResponsePayload,
  size: number,
): Uint8Array | undefined {
  const { error, code, retryable, retryAfterMs } = p;
  if (typeof p.success !== 'boolean' || p.details !== undefined) return undefined;
  if (error !== null && error !== undefined && typeof error !== 'string') return undefined;
  if (code !== undefined && typeof code !== 'string' && typeof code !== 'number') return undefined;
  if (retryable !== undefined && typeof retryable !== 'boolean') return undefined;
  if (retryAfterMs !== undefined && typeof retryAfterMs !== 'number') return undefined;
  const e = typeof error === 'string' ? utf8Length(error) : -1;
  let fields = 4;
  size += K_TYPE.length + V_RESPONSE.length + K_SUCCESS.length + 1 + K_RESULT.length + planA.size;
  size += K_ERROR.length + (e < 0 ? 1 : strHeaderSize(e) + e);
  if (code !== undefined) {
    if (!planValue(code, planB)) return undefined;
    size += K_CODE.length + planB.size;
    fields++;
  }
  if (retryable !== undefined) {
    size += K_RETRYABLE.length + 1;
    fields++;
  }
  if (retryAfterMs !== undefined) {
    size += K_RETRY_AFTER.length + 9;
    fields++;
  }
  begin(size, id, idBytes, fields);
  writeBytes(K_TYPE);
  writeBytes(V_RESPONSE);
  writeBytes(K_SUCCESS);
  out[at++] = p.success ? 0xc3 : 0xc2;
  writeBytes(K_RESULT);
  writeValue(p.result, planA);
  writeBytes(K_ERROR);
  if (e < 0) out[at++] = 0xc0;
  else writeStr(error as string, e);
  if (code !== undefined) {
    writeBytes(K_CODE);
    writeValue(code, planB);
  }
  if (retryable !== undefined) {
    writeBytes(K_RETRYABLE);
    out[at++] = retryable ? 0xc3 : 0xc2;
  }
  if (retryAfterMs !== undefined) {
    writeBytes(K_RETRY_AFTER);
    out[at++] = 0xcb; // float64, whatever the value: always valid
    // + 0 turns -0 into 0, as msgpackr writes it (an integer 0), so both paths decode alike.
    out.writeDoubleBE(retryAfterMs + 0, at);
    at += 8;
  }
  return finish(size);
}

/**
 * Frames up to SLAB_MAX bytes are cut from a shared slab, never reused: a slab is freed by the
 * garbage collector once no frame cut from it is referenced, as with Buffer's own 8 KiB pool.
 * Buffer.allocUnsafe only pools up to 4 KiB and costs ~1.3 µs for a 4 KiB + envelope frame;
 * cutting from the slab costs ~50 ns. A slab is not zero-filled (Buffer.allocUnsafeSlow: 2 µs
 * where a zeroed 64 KiB ArrayBuffer took 15): every byte of a frame is written before the frame
 * is handed out (finish() checks the count), and no other part of the slab is ever exposed.
 */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX = 8 * 1024;
const newSlab = (): ArrayBuffer => Buffer.allocUnsafeSlow(SLAB_SIZE).buffer as ArrayBuffer;
let slab = newSlab();
let slabUsed = 0;

function allocate(size: number): Buffer {
  if (size > SLAB_MAX) return Buffer.allocUnsafeSlow(size);
  if (slabUsed + size > SLAB_SIZE) {
    slab = newSlab();
    slabUsed = 0;
  }
  const buffer = Buffer.from(slab, slabUsed, size);
  slabUsed += size;
  return buffer;
}

function begin(size: number, id: string, idBytes: number, payloadFields: number): void {
  out = allocate(size);
  at = 0;
  out[at++] = 0x82;
  writeBytes(K_ID);
  writeStr(id, idBytes);
  writeBytes(K_PAYLOAD);
  out[at++] = 0x80 | payloadFields;
}

function finish(size: number): Uint8Array {
  const frame = out;
  out = NONE;
  // Sizing and writing must agree; a mismatch would be a bug here, not bad input.
  if (at !== size) throw new Error(`msgpack envelope: wrote ${at} of ${size} bytes`);
  return frame;
}
