/**
 * Reads the IpcMessage envelope of our MessagePack dialect by hand, without making strings for
 * its keys; the values (params, result, data, …) are decoded by msgpackr, or here when they are
 * common scalars or binary. Canonical messages only: anything else (non-ASCII keys or envelope
 * strings, extension types, missing fields, a document of the wrong shape, trailing bytes)
 * returns `undefined`, and the general codec and parseMessage decide, so that every input
 * gives exactly the message or the error it gave before.
 */
import { type IpcMessage, type ResponsePayload, readRequestExtras } from '../message.js';
import { unpackr } from '../msgpackr-config.js';

const EMPTY = Buffer.alloc(0);

let src: Uint8Array = EMPTY;
/** `src` as a Buffer (the same memory), for its public string readers. */
let srcBuffer: Buffer = EMPTY;
let pos = 0;
let end = 0;
/** Containers skipped in the current value; past a bound the general decoder takes over. */
const MAX_SKIPPED_CONTAINERS = 1000;

/** Field codes of the envelope's keys. */
const F_UNKNOWN = 0;
const F_ID = 1;
const F_PAYLOAD = 2;
const F_TYPE = 3;
const F_METHOD = 4;
const F_PARAMS = 5;
const F_SUCCESS = 6;
const F_RESULT = 7;
const F_ERROR = 8;
const F_CODE = 9;
const F_DETAILS = 10;
const F_RETRYABLE = 11;
const F_RETRY_AFTER = 12;
const F_EVENT_TYPE = 13;
const F_DATA = 14;
const F_TIMEOUT_MS = 15;
const F_PROGRESS = 16;
const F_STREAM = 17;

const FIELDS: Array<[string, number]> = [
  ['id', F_ID],
  ['payload', F_PAYLOAD],
  ['type', F_TYPE],
  ['method', F_METHOD],
  ['params', F_PARAMS],
  ['success', F_SUCCESS],
  ['result', F_RESULT],
  ['error', F_ERROR],
  ['code', F_CODE],
  ['details', F_DETAILS],
  ['retryable', F_RETRYABLE],
  ['retryAfterMs', F_RETRY_AFTER],
  ['event_type', F_EVENT_TYPE],
  ['data', F_DATA],
  ['timeoutMs', F_TIMEOUT_MS],
  ['progress', F_PROGRESS],
  ['stream', F_STREAM],
];
/** Keys by length, for matching key bytes without making strings. */
const KEY_BYTES: Uint8Array[][] = [];
const KEY_CODES: number[][] = [];
for (const [name, code] of FIELDS) {
  (KEY_BYTES[name.length] ??= []).push(Buffer.from(name));
  (KEY_CODES[name.length] ??= []).push(code);
}

/** Length of the str at `pos` (moving past its header), or -1 when it is not a str. */
function strLength(): number {
  const b = src;
  const p = pos;
  if (p >= end) return -1;
  const h = b[p]!;
  if (h >= 0xa0 && h <= 0xbf) {
    pos = p + 1;
    return h & 0x1f;
  }
  if (h === 0xd9 && p + 2 <= end) {
    pos = p + 2;
    return b[p + 1]!;
  }
  if (h === 0xda && p + 3 <= end) {
    pos = p + 3;
    return (b[p + 1]! << 8) | b[p + 2]!;
  }
  if (h === 0xdb && p + 5 <= end) {
    pos = p + 5;
    return b[p + 1]! * 0x1000000 + ((b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!);
  }
  return -1;
}

/** The key at `pos` as a field code (F_UNKNOWN for other ASCII keys), or -1 (not a plain key). */
function readKey(): number {
  const n = strLength();
  const start = pos;
  const stop = start + n;
  if (n < 0 || stop > end) return -1;
  pos = stop;
  const b = src;
  const candidates = KEY_BYTES[n];
  if (candidates !== undefined) {
    for (let k = 0; k < candidates.length; k++) {
      const key = candidates[k]!;
      let i = 0;
      while (i < n && key[i] === b[start + i]) i++;
      if (i === n) return KEY_CODES[n]![k]!;
    }
  }
  // Another key: ignored, but only when plainly ASCII (see asciiAt).
  return asciiAt(b, start, stop) ? F_UNKNOWN : -1;
}

/**
 * Whether bytes are all ASCII. Non-ASCII envelope strings go to the general decoder, whose
 * UTF-8 handling (replacement characters, overlong forms) then decides what they say.
 */
function asciiAt(b: Uint8Array, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) if (b[i]! > 0x7f) return false;
  return true;
}

/** An ASCII str at `pos`, or undefined (not a str, not ASCII, truncated). */
function readAscii(): string | undefined {
  const n = strLength();
  const start = pos;
  const stop = start + n;
  if (n < 0 || stop > end) return undefined;
  pos = stop;
  const b = src;
  switch (n) {
    case 0:
      return '';
    case 1:
      if (b[start]! > 0x7f) return undefined;
      return String.fromCharCode(b[start]!);
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8: {
      let s = '';
      for (let i = start; i < stop; i++) {
        const c = b[i]!;
        if (c > 0x7f) return undefined;
        s += String.fromCharCode(c);
      }
      return s;
    }
    default:
      if (!asciiAt(b, start, stop)) return undefined;
      return srcBuffer.toString('latin1', start, stop);
  }
}

const TYPE_NAMES = ['request', 'response', 'event'] as const;
const TYPE_BYTES = TYPE_NAMES.map((t) => Buffer.from(t));

/** The payload type at `pos` when it is one of the three (no string made), else undefined. */
function readType(): (typeof TYPE_NAMES)[number] | undefined {
  const n = strLength();
  const start = pos;
  if (n < 0 || start + n > end) return undefined;
  pos = start + n;
  const b = src;
  for (let k = 0; k < 3; k++) {
    const t = TYPE_BYTES[k]!;
    if (t.length !== n) continue;
    let i = 0;
    while (i < n && t[i] === b[start + i]) i++;
    if (i === n) return TYPE_NAMES[k];
  }
  return undefined;
}

/** Header of a map at `pos`: its entry count (moving past the header), or -1. */
function mapLength(): number {
  if (pos >= end) return -1;
  const b = src[pos]!;
  if (b >= 0x80 && b <= 0x8f) {
    pos++;
    return b & 0x0f;
  }
  if (b === 0xde && pos + 3 <= end) {
    pos += 3;
    return (src[pos - 2]! << 8) | src[pos - 1]!;
  }
  if (b === 0xdf && pos + 5 <= end) {
    pos += 5;
    return src[pos - 4]! * 0x1000000 + ((src[pos - 3]! << 16) | (src[pos - 2]! << 8) | src[pos - 1]!);
  }
  return -1;
}

const u16 = (i: number) => (src[i]! << 8) | src[i + 1]!;
const u32 = (i: number) => src[i]! * 0x1000000 + ((src[i + 1]! << 16) | (src[i + 2]! << 8) | src[i + 3]!);

/**
 * Moves `pos` past one whole value, without decoding it. False (the general decoder decides)
 * for extension types, the unused 0xc1, truncation, or too many nested containers.
 */
function skipValue(): boolean {
  let items = 1;
  let containers = 0;
  while (items > 0) {
    if (pos >= end) return false;
    const b = src[pos++]!;
    items--;
    let data = 0;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue;
    if (b <= 0x8f) items += 2 * (b & 0x0f);
    else if (b <= 0x9f) items += b & 0x0f;
    else if (b <= 0xbf) data = b & 0x1f;
    else {
      switch (b) {
        case 0xcc:
        case 0xd0:
          data = 1;
          break;
        case 0xcd:
        case 0xd1:
          data = 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          data = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          data = 8;
          break;
        case 0xc4:
        case 0xd9:
          if (pos + 1 > end) return false;
          data = src[pos]!;
          pos += 1;
          break;
        case 0xc5:
        case 0xda:
          if (pos + 2 > end) return false;
          data = u16(pos);
          pos += 2;
          break;
        case 0xc6:
        case 0xdb:
          if (pos + 4 > end) return false;
          data = u32(pos);
          pos += 4;
          break;
        case 0xdc:
          if (pos + 2 > end) return false;
          items += u16(pos);
          pos += 2;
          break;
        case 0xdd:
          if (pos + 4 > end) return false;
          items += u32(pos);
          pos += 4;
          break;
        case 0xde:
          if (pos + 2 > end) return false;
          items += 2 * u16(pos);
          pos += 2;
          break;
        case 0xdf:
          if (pos + 4 > end) return false;
          items += 2 * u32(pos);
          pos += 4;
          break;
        default:
          return false; // 0xc1 and the extension types
      }
    }
    if ((b >= 0x80 && b <= 0x9f) || b >= 0xdc) {
      if (++containers > MAX_SKIPPED_CONTAINERS) return false;
    }
    pos += data;
    if (pos > end) return false;
  }
  return true;
}

/**
 * Decodes the value in [start, stop): common scalars and binary here (binary as a view of the
 * frame, as msgpackr gives it), everything else by msgpackr, so that the result is what the
 * general decoder gives.
 */
function decodeValue(start: number, stop: number): unknown {
  const b = src[start]!;
  if (stop - start === 1) {
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b === 0xc0) return null;
    if (b === 0xc2) return false;
    if (b === 0xc3) return true;
  } else if (b === 0xcc && stop - start === 2) return src[start + 1]!;
  else if (b === 0xcd && stop - start === 3) return u16(start + 1);
  else if (b === 0xce && stop - start === 5) return u32(start + 1);
  else if (b === 0xc4) return src.subarray(start + 2, stop);
  else if (b === 0xc5) return src.subarray(start + 3, stop);
  else if (b === 0xc6) return src.subarray(start + 5, stop);
  return unpackr.unpack(src, { start, end: stop });
}

/** Value ranges of the payload's fields; -1: absent. */
const range = new Int32Array(2 * 18);

/**
 * Decodes a canonical message; `undefined` for anything else (see the module comment), for the
 * general decoder to decode or reject. Values are decoded by msgpackr, so their errors are its
 * (the caller maps them to SERIALIZATION).
 */
export function decodeEnvelope(frame: Uint8Array): IpcMessage | undefined {
  src = frame;
  srcBuffer = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  pos = 0;
  end = frame.length;
  try {
    return readMessage();
  } finally {
    src = EMPTY;
    srcBuffer = EMPTY;
  }
}

function readMessage(): IpcMessage | undefined {
  let fields = mapLength();
  let id: string | undefined;
  let payloadFound = false;
  range.fill(-1);
  let type: string | undefined;
  let method: string | undefined;
  let eventType: string | undefined;
  while (fields-- > 0) {
    const f = readKey();
    if (f === F_ID) {
      id = readAscii();
      if (id === undefined) return undefined;
    } else if (f === F_PAYLOAD) {
      let n = mapLength();
      if (n < 0) return undefined;
      payloadFound = true;
      range.fill(-1);
      type = undefined;
      method = undefined;
      eventType = undefined;
      while (n-- > 0) {
        const g = readKey();
        if (g < 0) return undefined;
        if (g === F_TYPE) {
          type = readType();
          if (type === undefined) return undefined;
        } else if (g === F_METHOD || g === F_EVENT_TYPE) {
          const s = readAscii();
          if (s === undefined) return undefined;
          if (g === F_METHOD) method = s;
          else eventType = s;
        } else {
          const start = pos;
          if (!skipValue()) return undefined;
          if (g !== F_UNKNOWN) {
            range[2 * g] = start;
            range[2 * g + 1] = pos;
          }
        }
      }
    } else if (f < 0 || !skipValue()) return undefined;
  }
  if (fields !== -1 || pos !== end || id === undefined || !payloadFound) return undefined;
  return build(id, type, method, eventType);
}

const has = (f: number) => range[2 * f]! >= 0;
const value = (f: number): unknown => decodeValue(range[2 * f]!, range[2 * f + 1]!);

function build(
  id: string,
  type: string | undefined,
  method: string | undefined,
  eventType: string | undefined,
): IpcMessage | undefined {
  switch (type) {
    case 'request':
      if (method === undefined || !has(F_PARAMS)) return undefined;
      if (!has(F_PROGRESS) && !has(F_STREAM)) {
        if (!has(F_TIMEOUT_MS)) return { id, payload: { type: 'request', method, params: value(F_PARAMS) } };
        // Every request of our clients carries its deadline: one object shape, built at once.
        const timeoutMs = value(F_TIMEOUT_MS);
        if (typeof timeoutMs === 'number' && timeoutMs >= 0 && timeoutMs <= Number.MAX_SAFE_INTEGER)
          return { id, payload: { type: 'request', method, params: value(F_PARAMS), timeoutMs } };
      }
      return {
        id,
        payload: readRequestExtras(
          { type: 'request', method, params: value(F_PARAMS) },
          has(F_TIMEOUT_MS) ? value(F_TIMEOUT_MS) : undefined,
          has(F_PROGRESS) ? value(F_PROGRESS) : undefined,
          has(F_STREAM) ? value(F_STREAM) : undefined,
        ),
      };
    case 'event':
      if (eventType === undefined || !has(F_DATA)) return undefined;
      return { id, payload: { type: 'event', event_type: eventType, data: value(F_DATA) } };
    case 'response': {
      if (!has(F_SUCCESS)) return undefined;
      const success = value(F_SUCCESS);
      if (typeof success !== 'boolean') return undefined;
      const error = has(F_ERROR) ? (value(F_ERROR) ?? null) : null;
      if (error !== null && typeof error !== 'string') return undefined;
      const payload: ResponsePayload = {
        type: 'response',
        success,
        result: has(F_RESULT) ? (value(F_RESULT) ?? null) : null,
        error,
      };
      if (has(F_CODE)) {
        const code = value(F_CODE);
        if (typeof code === 'string' || typeof code === 'number') payload.code = code;
      }
      if (has(F_DETAILS)) {
        const details = value(F_DETAILS);
        if (details !== undefined) payload.details = details;
      }
      if (has(F_RETRYABLE)) {
        const retryable = value(F_RETRYABLE);
        if (typeof retryable === 'boolean') payload.retryable = retryable;
      }
      if (has(F_RETRY_AFTER)) {
        const after = value(F_RETRY_AFTER);
        if (typeof after === 'number') payload.retryAfterMs = after;
      }
      return { id, payload };
    }
    default:
      return undefined;
  }
}
