/**
 * The ipckit channel file: a pretty-printed JSON array of messages (wire-formats.md §4). This
 * module is the only place of the ipckit mode that reads or writes that array; the link hands it
 * frames (one message each, JSON text from the dialect) and gets frames back.
 */
import { IpcError, parseJson } from '@openclaw-ipc/core';
import { checkIpckitMessage, type IpckitMessage } from './ipckit-message.js';

/** Messages ipckit keeps in a file; older ones are dropped at each write. */
export const IPCKIT_KEEP = 100;

export interface ParsedChannelFile {
  /** The valid messages, in file order. */
  messages: IpckitMessage[];
  /** One PROTOCOL error per element of the wrong shape (skipped, the others kept). */
  errors: IpcError[];
}

/**
 * Parses the text of a channel file. An empty file is an empty array, as for ipckit.
 * @throws IpcError SERIALIZATION (not JSON) or PROTOCOL (not an array): nothing in it is usable.
 */
export function parseChannelFile(text: string): ParsedChannelFile {
  if (text.trim() === '') return { messages: [], errors: [] };
  const value = parseJson(text);
  if (!Array.isArray(value)) throw new IpcError('PROTOCOL', 'ipckit channel file is not a JSON array');
  const messages: IpckitMessage[] = [];
  const errors: IpcError[] = [];
  for (const element of value) {
    try {
      messages.push(checkIpckitMessage(element));
    } catch (err) {
      errors.push(IpcError.from(err, 'PROTOCOL'));
    }
  }
  return { messages, errors };
}

/** The text of a channel file holding `messages`, formatted as ipckit (serde pretty) writes it. */
export function serializeChannelFile(messages: readonly IpckitMessage[]): string {
  return JSON.stringify(messages, null, 2);
}

/**
 * Parses one outgoing frame (the JSON text of one ipckit message).
 * @throws IpcError SERIALIZATION or PROTOCOL.
 */
export function parseOutgoing(frame: string): IpckitMessage {
  return checkIpckitMessage(parseJson(frame));
}

/**
 * The file content after appending `added` to `existing`: the newest `keep` messages. Each added
 * message gets a timestamp above every earlier one in the file, so that an ipckit reader, which
 * only remembers the last (timestamp, id), neither repeats nor skips any of them.
 */
export function appendMessages(
  existing: readonly IpckitMessage[],
  added: readonly IpckitMessage[],
  keep = IPCKIT_KEEP,
): IpckitMessage[] {
  let last = 0;
  for (const m of existing) if (m.timestamp > last) last = m.timestamp;
  const out = existing.slice();
  for (const m of added) {
    const timestamp = m.timestamp > last ? m.timestamp : last + 1;
    last = timestamp;
    out.push(timestamp === m.timestamp ? m : { ...m, timestamp });
  }
  return out.length > keep ? out.slice(out.length - keep) : out;
}

/** The frame handed to the RPC engine for one received message: its JSON text. */
export const messageFrame = (message: IpckitMessage): string => JSON.stringify(message);

/** How far a reader of ours has read a direction (`<direction>.read`; ipckit ignores the file). */
export interface ReadProgress {
  pid: number;
  /** The highest timestamp delivered. */
  timestamp: number;
}

export const serializeProgress = (progress: ReadProgress): string => JSON.stringify(progress);

/** Parses a progress file; undefined when it is not one. */
export function parseProgress(text: string): ReadProgress | undefined {
  try {
    const value = JSON.parse(text) as Partial<ReadProgress>;
    if (typeof value?.pid !== 'number' || typeof value.timestamp !== 'number') return undefined;
    return { pid: value.pid, timestamp: value.timestamp };
  } catch {
    return undefined;
  }
}
