/**
 * The message of the ipckit file channel (wire-formats.md §4) and its shape check. Shared by the
 * channel-file reader (which must skip a bad element without losing the others) and the ipckit
 * dialect, so both accept exactly the same messages.
 */
import { IpcError } from '@openclaw-ipc/core';

export type IpckitType = 'request' | 'response' | 'event';

/** One message as ipckit writes it; absent optional fields are left out, never null. */
export interface IpckitMessage {
  id: string;
  /** Milliseconds since the epoch; an unsigned integer (ipckit reads it as u64). */
  timestamp: number;
  type: IpckitType;
  /** Responses: the id of the request answered. */
  reply_to?: string;
  /** Requests: the method; events: the event name. */
  method?: string;
  /** Always present; null in error responses. */
  payload: unknown;
  /** Error responses: the error text. */
  error?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const shapeError = (why: string, id?: unknown) =>
  new IpcError('PROTOCOL', `malformed ipckit message: ${why}`, {
    details: typeof id === 'string' ? { id: id.slice(0, 128) } : undefined,
  });

/**
 * Checks that `value` is an ipckit message that ipckit itself would read, and returns it with
 * only the known fields (in ipckit's field order). Unknown fields are dropped, as by ipckit.
 * @throws IpcError PROTOCOL naming the first problem.
 */
export function checkIpckitMessage(value: unknown): IpckitMessage {
  if (!isObject(value)) throw shapeError('not an object');
  const { id, timestamp, type, reply_to, method, payload, error } = value;
  if (typeof id !== 'string') throw shapeError('`id` is not a string');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0)
    throw shapeError('`timestamp` is not an unsigned integer', id);
  if (type !== 'request' && type !== 'response' && type !== 'event')
    throw shapeError('`type` is not request, response or event', id);
  if (!('payload' in value)) throw shapeError('`payload` is missing', id);
  if (reply_to !== undefined && reply_to !== null && typeof reply_to !== 'string')
    throw shapeError('`reply_to` is not a string', id);
  if (method !== undefined && method !== null && typeof method !== 'string')
    throw shapeError('`method` is not a string', id);
  if (error !== undefined && error !== null && typeof error !== 'string')
    throw shapeError('`error` is not a string', id);
  if (type === 'response' && typeof reply_to !== 'string')
    throw shapeError('response without `reply_to`', id);
  if (type !== 'response' && typeof method !== 'string') throw shapeError(`${type} without \`method\``, id);
  // Field order as ipckit serialises it: id, timestamp, type, reply_to, method, payload, error.
  const out = { id, timestamp, type } as IpckitMessage;
  if (typeof reply_to === 'string') out.reply_to = reply_to;
  if (typeof method === 'string') out.method = method;
  out.payload = payload;
  if (typeof error === 'string') out.error = error;
  return out;
}
