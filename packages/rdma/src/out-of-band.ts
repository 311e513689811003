/**
 * Large binary values out of band: the rdma transport's `msgpack` dialect wraps core's msgpack
 * dialect so that a Uint8Array of at least `OUT_OF_BAND_MIN` bytes in a request's params, a
 * result or an event's data (up to three levels deep) is not copied into the encoded frame.
 * It is replaced by a small marker `{"\u0000oob": i}` and handed to the RdmaLink beside the
 * frame; the link sends each such value by rendezvous (cma and verbs: registered in place,
 * zero copies; shm: one copy into the shared arena) right before the frame, and the receiving
 * link reads them and hands them to the dialect with the frame, which puts them back.
 *
 * Consequence for callers: such a buffer is read by the peer after send() returned, so it must
 * not be modified until the request has settled (client) or for `rendezvousTtlMs` after a
 * handler returned it (server); a change in between fails the CRC32C check and closes the link.
 *
 * Without an RdmaLink (or for values nested deeper) nothing changes: the frame is what core's
 * msgpack dialect writes.
 */
import { type Dialect, type Frame, IpcError, type IpcMessage, msgpackDialect } from '@openclaw-ipc/core';

/** Binary values from this size go out of band. */
export const OUT_OF_BAND_MIN = 64 * 1024;
/** Out-of-band values one message may carry. */
export const MAX_OUT_OF_BAND = 64;
/** The marker's key: a NUL-prefixed name no JSON-minded caller writes. */
export const OOB_KEY = '\u0000oob';
const MAX_DEPTH = 3;

/** Frames and the buffers that travel beside them (set by encode, read by the link, and back). */
export const attachments = new WeakMap<Uint8Array, Uint8Array[]>();

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** A copy of `value` with large binaries replaced by markers (pushed to `out`); `value` itself when none. */
function extract(value: unknown, out: Uint8Array[], depth: number): unknown {
  if (value instanceof Uint8Array) {
    if (value.byteLength < OUT_OF_BAND_MIN || out.length >= MAX_OUT_OF_BAND) return value;
    out.push(value);
    return { [OOB_KEY]: out.length - 1 };
  }
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const x = extract(v, out, depth + 1);
      if (x !== v) (copy ??= value.slice())[i] = x;
    }
    return copy ?? value;
  }
  if (isPlain(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const v = value[key];
      const x = extract(v, out, depth + 1);
      if (x !== v) (copy ??= { ...value })[key] = x;
    }
    return copy ?? value;
  }
  return value;
}

/** Puts the buffers back where markers are; checks every buffer is used exactly once. */
function restore(value: unknown, buffers: Uint8Array[], used: boolean[], depth: number): unknown {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null || value instanceof Uint8Array)
    return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], buffers, used, depth + 1);
    return value;
  }
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec);
  if (keys.length === 1 && keys[0] === OOB_KEY) {
    const i = rec[OOB_KEY];
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= buffers.length || used[i])
      throw new IpcError('PROTOCOL', 'rdma: an out-of-band marker names no attachment');
    used[i] = true;
    return buffers[i];
  }
  for (const key of keys) rec[key] = restore(rec[key], buffers, used, depth + 1);
  return value;
}

function withBody(message: IpcMessage, map: (body: unknown) => unknown): IpcMessage {
  const p = message.payload;
  switch (p.type) {
    case 'request': {
      const params = map(p.params);
      return params === p.params ? message : { ...message, payload: { ...p, params } };
    }
    case 'response': {
      const result = map(p.result);
      return result === p.result ? message : { ...message, payload: { ...p, result } };
    }
    case 'event': {
      const data = map(p.data);
      return data === p.data ? message : { ...message, payload: { ...p, data } };
    }
  }
}

/** Wraps a MessagePack dialect (core's by default) with out-of-band binaries. */
export function outOfBandDialect(inner: Dialect = msgpackDialect): Dialect {
  const wrapped: Dialect = {
    name: inner.name,
    frames: inner.frames,
    cancellable: inner.cancellable,
    carries: inner.carries,
    opaqueIds: inner.opaqueIds,
    countedId: inner.countedId?.bind(inner),
    encode(message) {
      const buffers: Uint8Array[] = [];
      const stripped = withBody(message, (body) => extract(body, buffers, 0));
      const frame = inner.encode(stripped);
      if (buffers.length > 0) {
        if (typeof frame === 'string')
          throw new IpcError('SERIALIZATION', 'out-of-band values need binary frames');
        attachments.set(frame, buffers);
      }
      return frame;
    },
    decode(frame: Frame) {
      const decoded = inner.decode(frame);
      const buffers = typeof frame === 'string' ? undefined : attachments.get(frame);
      if (!buffers) return decoded;
      if (Array.isArray(decoded)) throw new IpcError('PROTOCOL', 'rdma: out-of-band values on a batch');
      const used = buffers.map(() => false);
      const message = withBody(decoded, (body) => restore(body, buffers, used, 0));
      if (used.some((u) => !u))
        throw new IpcError('PROTOCOL', 'rdma: an out-of-band attachment has no marker');
      return message;
    },
  };
  if (inner.forLink) {
    const forLink = inner.forLink.bind(inner);
    wrapped.forLink = () => outOfBandDialect(forLink());
  }
  return wrapped;
}

/** The rdma transport's default dialect: core's msgpack with out-of-band binaries. */
export const rdmaMsgpackDialect: Dialect = outOfBandDialect();
