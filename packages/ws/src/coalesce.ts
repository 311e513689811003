/**
 * Coalescing: the text frames a link sends in one tick leave as one WebSocket message, when both
 * ends are openclaw-ipc and agreed to it at the upgrade. The message is a JSON text sequence
 * (RFC 7464): each frame preceded by RS (0x1E) and followed by LF. A JSON text never starts with
 * RS and never holds a raw one (control characters are escaped inside JSON strings), so a
 * message that starts with RS is a sequence and the frames split back at each LF RS. What a peer
 * saves is ws's work per message: a frame header parsed, an event, a Buffer and a string made.
 *
 * The agreement: the client's upgrade request carries the header below with the largest message
 * it accepts in bytes; a server that coalesces answers with the same header and its own
 * largest. From then on each side may send sequences up to the other's size, and splits the
 * sequences it receives. Peers that do not know the header ignore it, and nothing changes.
 */

/** The HTTP header of the agreement (lower case, as Node's `req.headers` keys are). */
export const COALESCE_HEADER = 'x-openclaw-ipc-coalesce';

const RS = '\x1e';
const SEPARATOR = '\n\x1e';
const RS_CODE = 0x1e;

/** The least a peer may say it accepts (smaller or malformed: no coalescing). */
const MIN_ACCEPTED = 1024;

/**
 * The largest message a peer says it accepts, from its header's value; undefined when it sent
 * none or one that is not a whole number of at least 1 KiB.
 */
export function acceptedSize(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) return undefined;
  const size = Number(value);
  return size >= MIN_ACCEPTED ? size : undefined;
}

/** Whether `frame` may go into a sequence (it holds no RS of its own). */
export const packable = (frame: string): boolean => frame.indexOf(RS) === -1;

/**
 * One message of `frames` (each {@link packable}): the frame itself when there is one, else the
 * sequence. Its UTF-16 length is the sum of the frames' plus 2 per frame.
 */
export function pack(frames: readonly string[]): string {
  return frames.length === 1 ? frames[0]! : `${RS}${frames.join(SEPARATOR)}\n`;
}

/** Whether a received text message is a sequence. */
export const isPacked = (message: string): boolean => message.charCodeAt(0) === RS_CODE;

/**
 * The frames of a sequence, in order. Never throws: a malformed sequence (a missing final LF, an
 * empty element) gives frames the dialect then rejects one by one, as it would have rejected
 * them sent alone.
 */
export function unpack(message: string): string[] {
  const end = message.charCodeAt(message.length - 1) === 0x0a ? message.length - 1 : message.length;
  return message.slice(1, end).split(SEPARATOR);
}
