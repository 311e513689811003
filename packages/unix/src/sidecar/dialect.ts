/**
 * The `sidecar` dialect: canonical IpcMessages <-> SeaweedFS sidecar frames.
 *
 * The protocol has no ids and answers one request at a time, in order. So each link gets its
 * own instance (Dialect.forLink) that makes ids up:
 * - as a server, a request variant decodes to a canonical request (method = variant name,
 *   params = the struct) with a fresh id; the reply to that id is encoded as the matching
 *   response variant, in the encoding (array or map) that request came in;
 * - as a client, a request is encoded in the dialect's encoding and its id queued; a response
 *   variant decodes to the response of the oldest queued id.
 * Replies leave in request order because the unix transport delivers a sidecar link's frames
 * one at a time (SocketLink `sequential`), and because a client uses an OrderedReplyChannel.
 *
 * A variant the server does not serve (an unknown name, or a response sent as a request)
 * decodes to a PROTOCOL error whose decodeErrorReply is the engine's UNSUPPORTED_MESSAGE Error;
 * a known request with a malformed struct is answered INVALID_REQUEST. Bytes that are not a
 * MessagePack envelope close the link, as the Rust engine drops such a connection.
 */
import {
  type Dialect,
  type ErrorResponseInit,
  type Frame,
  failure,
  IpcError,
  type IpcMessage,
  type ResponsePayload,
  request,
  success,
} from '@openclaw-ipc/core';
import {
  type ErrorResponse,
  isSidecarRequest,
  isSidecarVariant,
  SIDECAR_REQUESTS,
  type SidecarRequestVariant,
  UNSUPPORTED_MESSAGE,
} from './messages.js';
import { encodeSidecar, readData, readEnvelope, type SidecarEncoding } from './wire.js';

/** Largest request the Rust engine accepts (it drops the connection above). */
export const SIDECAR_MAX_REQUEST = 1024 * 1024;
/** Largest response the Go sidecar accepts. */
export const SIDECAR_MAX_RESPONSE = 64 * 1024 * 1024;

export interface SidecarDialectOptions {
  /**
   * The encoding of requests this side sends, and of replies when the request's encoding is
   * unknown. Default 'array' (the Rust engine's compact form; the engine reads both).
   */
  encoding?: SidecarEncoding;
  /** Requests a client link remembers while waiting for their replies. Default 4096. */
  maxOutstanding?: number;
}

/** A Dialect whose frames must be answered one at a time, in order. */
export interface SidecarDialect extends Dialect {
  readonly sequential: true;
  readonly encoding: SidecarEncoding;
  forLink(): SidecarDialect;
}

/** IpcError codes to the engine's categories and recoverability (RdmaError::category). */
const CATEGORY: Record<string, [string, boolean]> = {
  PROTOCOL: ['request', false],
  INVALID_ARGUMENT: ['request', false],
  INVALID_REQUEST: ['request', false],
  SERIALIZATION: ['ipc', true],
  MESSAGE_TOO_LARGE: ['capacity', false],
  CAPACITY: ['capacity', true],
  POOL_EXHAUSTED: ['capacity', true],
  AUTH: ['security', false],
  TIMEOUT: ['network', true],
  ABORTED: ['request', true],
  CLOSED: ['ipc', true],
  UNAVAILABLE: ['hardware', false],
};

/** The Error struct for a canonical error response. */
export function toSidecarError(p: ResponsePayload): ErrorResponse {
  if (p.code === 'METHOD_NOT_FOUND') return { ...UNSUPPORTED_MESSAGE };
  const code = p.code === undefined ? 'INTERNAL' : String(p.code);
  const details = (typeof p.details === 'object' && p.details !== null ? p.details : {}) as {
    category?: unknown;
    recoverable?: unknown;
  };
  const [category, recoverable] = CATEGORY[code] ?? ['internal', false];
  return {
    code,
    message: p.error ?? '',
    category: typeof details.category === 'string' ? details.category : category,
    recoverable:
      typeof details.recoverable === 'boolean'
        ? details.recoverable
        : typeof p.retryable === 'boolean'
          ? p.retryable
          : recoverable,
  };
}

class SidecarLinkDialect implements SidecarDialect {
  readonly name = 'sidecar';
  readonly frames = 'binary' as const;
  readonly cancellable = false;
  readonly sequential = true as const;
  readonly encoding: SidecarEncoding;
  private readonly maxOutstanding: number;
  private role: 'client' | 'server' | undefined;
  private nextId = 1;
  /** Server: requests decoded and not yet answered, by made-up id. */
  private readonly unanswered = new Map<
    string,
    { variant: SidecarRequestVariant; encoding: SidecarEncoding }
  >();
  /** Client: ids of the requests encoded, oldest first. */
  private readonly sent: string[] = [];
  /** The encoding the peer used last. */
  private peerEncoding: SidecarEncoding;
  /** Decode errors that have a reply frame (UNSUPPORTED_MESSAGE, INVALID_REQUEST). */
  private readonly replies = new WeakMap<IpcError, Frame>();

  constructor(private readonly options: SidecarDialectOptions) {
    this.encoding = options.encoding ?? 'array';
    this.peerEncoding = this.encoding;
    this.maxOutstanding = options.maxOutstanding ?? 4096;
  }

  forLink(): SidecarDialect {
    return new SidecarLinkDialect(this.options);
  }

  encode(message: IpcMessage): Frame {
    const p = message.payload;
    if (p.type === 'event')
      throw new IpcError('SERIALIZATION', `the sidecar protocol has no events (${p.event_type})`);
    if (p.type === 'request') {
      if (!isSidecarRequest(p.method))
        throw new IpcError('SERIALIZATION', `"${p.method}" is not a sidecar request`, {
          details: { requests: Object.keys(SIDECAR_REQUESTS) },
        });
      const frame = encodeSidecar(p.method, p.params ?? {}, this.encoding);
      this.role = 'client';
      this.sent.push(message.id);
      if (this.sent.length > this.maxOutstanding) this.sent.shift();
      return frame;
    }
    const pending = this.unanswered.get(message.id);
    const encoding = pending?.encoding ?? this.peerEncoding;
    let frame: Buffer;
    if (!p.success) frame = encodeSidecar('Error', toSidecarError(p), encoding);
    else if (pending) frame = encodeSidecar(SIDECAR_REQUESTS[pending.variant], p.result, encoding);
    else throw new IpcError('SERIALIZATION', `no sidecar request ${message.id} to answer`);
    this.unanswered.delete(message.id);
    return frame;
  }

  decode(frame: Frame): IpcMessage {
    if (typeof frame === 'string') throw new IpcError('PROTOCOL', 'sidecar dialect received a text frame');
    const env = readEnvelope(frame);
    this.peerEncoding = env.encoding;
    if (this.role !== 'client' && isSidecarRequest(env.type)) {
      let params: Record<string, unknown>;
      try {
        params = readData(env.type, env.data);
      } catch (err) {
        throw this.withReply(IpcError.from(err), env.encoding, {
          code: 'INVALID_REQUEST',
          message: (err as Error).message,
          category: 'request',
          recoverable: false,
        });
      }
      this.role = 'server';
      const id = `sidecar-${this.nextId++}`;
      this.unanswered.set(id, { variant: env.type, encoding: env.encoding });
      return request(env.type, params, id);
    }
    if (this.role === 'client' && isSidecarVariant(env.type) && !isSidecarRequest(env.type)) {
      const data = readData(env.type, env.data);
      const id = this.sent.shift() ?? '';
      if (env.type !== 'Error') return success(id, data);
      const init: ErrorResponseInit = {
        code: data.code as string,
        details: { category: data.category, recoverable: data.recoverable, details: data.details },
      };
      if (typeof data.recoverable === 'boolean') init.retryable = data.recoverable;
      return failure(id, data.message as string, init);
    }
    const type = env.type.length > 64 ? `${env.type.slice(0, 64)}…` : env.type;
    const error = new IpcError('PROTOCOL', `sidecar: unsupported message type ${JSON.stringify(type)}`, {
      details: { type },
    });
    throw this.withReply(error, env.encoding, UNSUPPORTED_MESSAGE);
  }

  decodeErrorReply(error: IpcError): Frame | undefined {
    return this.replies.get(error);
  }

  private withReply(error: IpcError, encoding: SidecarEncoding, reply: ErrorResponse): IpcError {
    if (this.role !== 'client') this.replies.set(error, encodeSidecar('Error', reply, encoding));
    return error;
  }
}

/** A sidecar dialect with its own options (see {@link SidecarDialectOptions}). */
export const createSidecarDialect = (options: SidecarDialectOptions = {}): SidecarDialect =>
  new SidecarLinkDialect(options);

/** The `sidecar` dialect with its defaults (requests in the compact array encoding). */
export const sidecarDialect: SidecarDialect = createSidecarDialect();

/** Whether a dialect needs its frames answered one at a time (the sidecar's). */
export const isSequentialDialect = (dialect: Dialect): boolean =>
  (dialect as Partial<SidecarDialect>).sequential === true;
