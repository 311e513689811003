/**
 * The contracts between the RPC engine and the transports. A transport moves frames; it never
 * parses them. Two shapes exist:
 *
 * - a duplex {@link Link} (WebSocket, Unix socket, file channel, nng pair/bus): the engine
 *   correlates responses to requests by message id, so many requests are in flight at once;
 * - a {@link RequestChannel} (nng REQ with one context per request, the sequential sidecar
 *   protocol): the transport correlates, the engine only maps messages.
 */
import type { IpcError } from './errors.js';

/** One whole message on the wire: bytes for binary transports, a string for text frames. */
export type Frame = Uint8Array | string;

/** What a link delivers to its user. */
export interface LinkHandler {
  /**
   * A whole frame arrived. The handler owns the frame from then on: the link never reuses or
   * mutates its memory. Must not throw; errors are the handler's to deal with.
   */
  onFrame(frame: Frame): void;
  /**
   * The link is closed, for good. `error` is set when it closed because of a failure (peer
   * reset: CLOSED; a bad frame: PROTOCOL or MESSAGE_TOO_LARGE), unset after a clean close by
   * either side. Called exactly once, after the last onFrame.
   */
  onClose(error?: IpcError): void;
}

/** A duplex connection carrying whole frames in both directions. */
export interface Link {
  /** The transport's name ('unix', 'ws', 'file', 'nng', …), for messages and metrics. */
  readonly transport: string;
  /** The peer's address when the transport knows one. */
  readonly remoteAddress?: string;
  /**
   * Starts delivery to `handler`. Called once, right after the link is obtained; frames that
   * arrive before are held by the link (within its limits) until then.
   */
  attach(handler: LinkHandler): void;
  /**
   * Queues one frame for sending; the link takes ownership of it (the caller must not mutate it
   * afterwards). Returns nothing when the frame was taken below the link's high-water mark, or a
   * promise that settles when the link has drained enough to take more: callers that care about
   * memory wait for it before the next send. Never blocks.
   * @throws IpcError CLOSED after close; MESSAGE_TOO_LARGE over the link's frame limit (the link
   *   stays open).
   */
  send(frame: Frame): void | Promise<void>;
  /**
   * Closes the link. Frames not yet written may be dropped. onClose runs once, with `error` if
   * one is given. Safe to call more than once and after the peer has closed.
   */
  close(error?: IpcError): void;
  /**
   * Resolves once the work the link does after close() is over (a file channel's cursor and
   * journal files written and closed), so that its folder may be removed; it never rejects. Links
   * with no such work leave it out. Before close() it resolves at once.
   */
  whenClosed?(): Promise<void>;
}

/**
 * For links that write the frames of a tick together: how many frames the first write of a tick
 * holds, given how many the previous tick sent. Half of them (at least 1, at most `most`): a
 * tick's frames mostly answer, or follow, what the peer sent in one go, so the next tick is about
 * as large as the last; sending its first half at once lets the peer work on it while this side
 * produces the rest, where one write per tick would have the two sides take turns. After a tick
 * of one frame (one request at a time) the first frame leaves at once.
 */
export function firstWriteOfTick(previousTick: number, most: number): number {
  return Math.max(1, Math.min(most, Math.ceil(previousTick / 2)));
}

/**
 * When a link that batches a tick's frames writes them: the tick's first write once it holds
 * firstWriteOfTick(previous tick) frames, later ones every `most` frames; the link writes what is
 * left when the tick ends and calls end(). One per link, shared by the unix and ws links.
 */
export class TickSlices {
  /** Frames of this tick so far, and how many its first write holds. */
  private frames = 0;
  private first = 1;

  constructor(private readonly most: number) {}

  /** A frame joined the tick's batch, which now holds `batched` unwritten: write them now? */
  add(batched: number): boolean {
    const n = ++this.frames;
    return batched >= (n <= this.first ? this.first : this.most);
  }

  /** The tick ended: the next one's first write is sized by it. */
  end(): void {
    if (this.frames === 0) return;
    this.first = firstWriteOfTick(this.frames, this.most);
    this.frames = 0;
  }
}

/**
 * Dials one link. Rejects with IpcError CONNECT (nobody there, refused), UNAVAILABLE (the
 * transport cannot work here), ABORTED (the signal fired) or TIMEOUT.
 */
export type LinkConnector = (signal?: AbortSignal) => Promise<Link>;

/** Accepts links. */
export interface LinkListener {
  /** The address it listens on, as a URL of its scheme. */
  readonly address: string;
  /** Sets the handler of accepted links; each link must be attached by the handler. */
  onLink(handler: (link: Link) => void): void;
  /** Stops accepting, closes every accepted link, frees the address. Safe to call twice. */
  close(): Promise<void>;
}

export interface ChannelRequestOptions {
  /** Milliseconds before the request rejects with TIMEOUT; 0 or undefined: none. */
  timeout?: number;
  signal?: AbortSignal;
}

/** A request/reply channel: the transport correlates each reply with its request. */
export interface RequestChannel {
  readonly transport: string;
  /**
   * Sends one request frame and resolves with its reply frame. Many calls may be in flight at
   * once; the channel serialises them if its protocol needs that.
   * Rejects with TIMEOUT, ABORTED, CLOSED (channel closed before the reply), MESSAGE_TOO_LARGE,
   * CAPACITY (too many in flight) or CONNECT.
   */
  request(frame: Frame, options?: ChannelRequestOptions): Promise<Frame>;
  /** Registers a callback for when the channel closes for good (not called after close()). */
  onClose?(callback: (error?: IpcError) => void): void;
  /** Closes the channel; every pending request rejects with CLOSED. Safe to call twice. */
  close(): void;
}

/** Opens one request channel (same rejections as LinkConnector). */
export type ChannelConnector = (signal?: AbortSignal) => Promise<RequestChannel>;

/** Sends the reply to one request received by a ReplyListener. Calling it twice is a no-op. */
export interface Responder {
  (frame: Frame): void;
  /** Aborted when the requester went away or cancelled (where the transport can tell). */
  readonly signal?: AbortSignal;
}

/** Accepts requests of a request/reply protocol (nng REP, the sidecar server). */
export interface ReplyListener {
  readonly address: string;
  /** Sets the handler; it must eventually call `reply` exactly once per request. */
  onRequest(handler: (frame: Frame, reply: Responder) => void): void;
  /** Stops receiving; requests not yet answered are dropped. Safe to call twice. */
  close(): Promise<void>;
}
