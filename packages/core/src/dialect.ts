/**
 * A dialect turns canonical IpcMessages into the frames a given peer expects, and back.
 * It never touches a socket.
 */
import { IpcError } from './errors.js';
import type { IpcMessage } from './message.js';
import type { Frame } from './transport.js';

/** Canonical event that asks the peer to cancel the request `data.id` (where supported). */
export const CANCEL_EVENT = '$/cancel';
/** Canonical requests for topic subscriptions (server.publish reaches subscribers only). */
export const SUBSCRIBE_METHOD = '$/subscribe';
export const UNSUBSCRIBE_METHOD = '$/unsubscribe';
/** Canonical event (server -> client): `{ id, value }`, one `ctx.progress(value)` of request `id`. */
export const PROGRESS_EVENT = '$/progress';
/** Canonical event (server -> client): `{ id, value }`, one item of the streamed result of `id`. */
export const STREAM_ITEM_EVENT = '$/stream/item';
/** Canonical event (client -> server): `{ id, n }`, the client took `n` more items of stream `id`. */
export const STREAM_CREDIT_EVENT = '$/stream/credit';

/**
 * What a dialect's peers understand beyond plain requests, responses and events (docs/core.md,
 * "What each dialect carries"). Each is off when left out.
 */
export interface DialectFeatures {
  /** Requests carry `timeoutMs` (the time the caller still waits) to the server. */
  readonly deadline?: boolean;
  /** Requests may ask for PROGRESS_EVENTs (`progress: true`). */
  readonly progress?: boolean;
  /** Requests may ask for a streamed result (`stream: <credit window>`) and its events. */
  readonly stream?: boolean;
}

export interface Dialect {
  /** Name used by `--dialect` and in messages. */
  readonly name: string;
  /** The kind of frames it writes. */
  readonly frames: 'binary' | 'text';
  /** Whether peers of this dialect understand CANCEL_EVENT (the engine sends it only then). */
  readonly cancellable: boolean;
  /**
   * Whether peers take message ids as opaque strings that only need to be unique per connection.
   * Then the client numbers its requests ("1", "2", … per client, never reset, so unique across
   * reconnects too) instead of making a UUID v4 for each (~1.5 µs). Leave it out for formats
   * whose ids are UUIDs (the openclaw-ipc crate's JSON, wire-formats.md §1).
   */
  readonly opaqueIds?: boolean;
  /**
   * With `opaqueIds`: the canonical id of the client's `n`-th request, where its peers should see
   * something other than the string of `n` (JSON-RPC: the number `n`). Default: the string of `n`.
   */
  countedId?(n: number): string;
  /** Deadlines, progress and streams, where its peers understand them; none when left out. */
  readonly carries?: DialectFeatures;
  /**
   * Encodes one message.
   * @throws IpcError SERIALIZATION when the message cannot be represented.
   */
  encode(message: IpcMessage): Frame;
  /**
   * Decodes one frame into one message, or several for a batch.
   * @throws IpcError SERIALIZATION (not a document) or PROTOCOL (a document of the wrong shape).
   */
  decode(frame: Frame): IpcMessage | IpcMessage[];
  /** Encodes the replies to a batch as one frame (dialects with batches only). */
  encodeBatch?(messages: IpcMessage[]): Frame;
  /**
   * The frame a server answers with when a frame cannot be decoded, if the dialect defines one
   * (JSON-RPC's -32700, forge's `"id":"unknown"`); without it the server closes that link.
   */
  decodeErrorReply?(error: IpcError, frame: Frame): Frame | undefined;
  /**
   * A fresh instance for one link, for dialects that keep per-connection state (ids made up for
   * a protocol without ids, the encoding a peer chose). Called once per link by the engine;
   * stateless dialects leave it out and are shared.
   */
  forLink?(): Dialect;
}

/** The dialect instance to use on one link. */
export const dialectForLink = (dialect: Dialect): Dialect => dialect.forLink?.() ?? dialect;

/**
 * Picks a dialect by name from those a transport knows, or takes a Dialect as given.
 * @throws IpcError INVALID_ARGUMENT naming the known dialects.
 */
export function resolveDialect(
  choice: string | Dialect | undefined,
  known: Readonly<Record<string, Dialect>>,
  transport: string,
): Dialect {
  if (choice !== undefined && typeof choice !== 'string') return choice;
  const names = Object.keys(known);
  const name = choice ?? names[0]!;
  const dialect = known[name];
  if (!dialect) {
    throw new IpcError(
      'INVALID_ARGUMENT',
      `unknown dialect "${name}" for ${transport}; known: ${names.join(', ')}`,
    );
  }
  return dialect;
}
