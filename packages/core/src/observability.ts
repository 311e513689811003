/**
 * The engine's hooks for observers, the Node way, without a dependency: `node:diagnostics_channel`
 * (tracing channels per request, plain channels for connections and reconnects; the names are
 * listed in docs/core.md, "Diagnostics channels") and `util.debuglog('openclaw-ipc')` (printed
 * with NODE_DEBUG=openclaw-ipc).
 *
 * Both modules are obtained through `process.getBuiltinModule` (public since Node 20.16 and
 * 22.3), never by a static `node:` import, so that core still loads where they do not exist (a
 * browser): there every channel reports no subscribers and the log is off. This is the one
 * module of core that reaches them.
 *
 * The cost when nobody listens is one `hasSubscribers` read per request: no context object is
 * built, nothing is published.
 */
import { errorOfReply } from './interceptors.js';
import type { IpcMessage, IpcPayload } from './message.js';

/** The part of a diagnostics_channel Channel used here. */
export interface ObservedChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
  runStores?<T>(context: object, fn: () => T): T;
}

/** The part of a diagnostics_channel TracingChannel used here. */
export interface ObservedTracingChannel {
  readonly hasSubscribers: boolean;
  readonly start: ObservedChannel;
  readonly end: ObservedChannel;
  readonly asyncStart: ObservedChannel;
  readonly asyncEnd: ObservedChannel;
  readonly error: ObservedChannel;
}

interface DiagnosticsChannelModule {
  channel(name: string): ObservedChannel;
  tracingChannel?(name: string): ObservedTracingChannel;
}

interface UtilModule {
  debuglog(section: string): ((format: string, ...args: unknown[]) => void) & { enabled?: boolean };
}

const getBuiltinModule = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule;

function builtin<T>(id: string): T | undefined {
  try {
    return getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}

const dc = builtin<DiagnosticsChannelModule>('node:diagnostics_channel');
const util = builtin<UtilModule>('node:util');

const silent: ObservedChannel = { hasSubscribers: false, publish() {} };

function plain(name: string): ObservedChannel {
  return dc ? dc.channel(name) : silent;
}

function tracing(name: string): ObservedTracingChannel {
  const made = dc?.tracingChannel?.(name);
  if (made) return made;
  return {
    hasSubscribers: false,
    start: silent,
    end: silent,
    asyncStart: silent,
    asyncEnd: silent,
    error: silent,
  };
}

/** The channel names, as subscribers spell them. */
export const CHANNELS = {
  /** TracingChannel: one trace per request a client sends (each attempt of a retried one). */
  clientRequest: 'openclaw-ipc:client.request',
  /** TracingChannel: one trace per request a server answers. */
  serverRequest: 'openclaw-ipc:server.request',
  /** A client's connection is open (first time, after a reconnect, after a failover switch). */
  clientOpen: 'openclaw-ipc:client.open',
  /** A client's connection was lost or the client closed. */
  clientClose: 'openclaw-ipc:client.close',
  /** A client waits before its next reconnect attempt (the delay chosen is in the message). */
  clientReconnect: 'openclaw-ipc:client.reconnect',
  /** A server accepted a connection (duplex links). */
  serverConnectionOpen: 'openclaw-ipc:server.connection.open',
  /** A server's connection closed. */
  serverConnectionClose: 'openclaw-ipc:server.connection.close',
} as const;

/** The channels themselves, made once. */
export const channels = {
  clientRequest: tracing(CHANNELS.clientRequest),
  serverRequest: tracing(CHANNELS.serverRequest),
  clientOpen: plain(CHANNELS.clientOpen),
  clientClose: plain(CHANNELS.clientClose),
  clientReconnect: plain(CHANNELS.clientReconnect),
  serverConnectionOpen: plain(CHANNELS.serverConnectionOpen),
  serverConnectionClose: plain(CHANNELS.serverConnectionClose),
};

const debuglog = util?.debuglog('openclaw-ipc');

/**
 * Writes a line to stderr when NODE_DEBUG includes `openclaw-ipc` (util.debuglog's format:
 * `%s`, `%d`, `%j`); a no-op otherwise and where node:util does not exist.
 */
export function debug(format: string, ...args: unknown[]): void {
  debuglog?.(format, ...args);
}

/**
 * Runs `fn` as the traced call of `context` on `channel`, as TracingChannel.tracePromise does
 * (start, with the channel's stores bound; end; then asyncStart and asyncEnd once it settles,
 * error before them on failure), except that a call whose outcome is a failure value rather
 * than a rejection is reported through `failed` (the server's error replies): it returns the
 * error, or undefined after it set `context.result` itself.
 */
export function traceCall<T>(
  channel: ObservedTracingChannel,
  context: { error?: unknown; result?: unknown },
  fn: () => T | Promise<T>,
  failed?: (outcome: T) => unknown,
): T | Promise<T> {
  const settled = (outcome: T): T => {
    const error = failed?.(outcome);
    if (error !== undefined) {
      context.error = error;
      channel.error.publish(context);
    } else if (!failed) context.result = outcome;
    return outcome;
  };
  const run = (): T | Promise<T> => {
    let out: T | Promise<T>;
    try {
      out = fn();
    } catch (err) {
      context.error = err;
      channel.error.publish(context);
      channel.end.publish(context);
      throw err;
    }
    if (!(out instanceof Promise)) {
      settled(out);
      channel.end.publish(context);
      return out;
    }
    channel.end.publish(context);
    return out.then(
      (value) => {
        settled(value);
        channel.asyncStart.publish(context);
        channel.asyncEnd.publish(context);
        return value;
      },
      (err) => {
        context.error = err;
        channel.error.publish(context);
        channel.asyncStart.publish(context);
        channel.asyncEnd.publish(context);
        throw err;
      },
    );
  };
  if (channel.start.runStores) return channel.start.runStores(context, run);
  channel.start.publish(context);
  return run();
}

/**
 * The message of every `openclaw-ipc:client.request` trace event. The engine fills `id` and
 * `requestSize` once the request is encoded (before `end`), `responseSize` when its reply
 * frame arrived, `result` or `error` before `asyncStart`.
 */
export interface ClientRequestTrace {
  readonly client: object;
  readonly method: string;
  readonly params: unknown;
  /** The transport's name ('unix', 'ws', 'nng', …) and the peer, of the connection when the call was made. */
  transport: string | undefined;
  peer: string | undefined;
  /** The URL in use (failover clients and clients made by URL), else undefined. */
  url: string | undefined;
  id: string | undefined;
  /** Bytes of the encoded request, and of the frame its reply came in (UTF-8 bytes for text). */
  requestSize: number | undefined;
  responseSize: number | undefined;
  result?: unknown;
  error?: unknown;
}

/**
 * The message of every `openclaw-ipc:server.request` trace event. `result` (the handler's
 * result) or `error` (an IpcError or RemoteError with the code the caller receives) is set
 * before `asyncStart` (or before `end` when the reply was ready at once).
 */
export interface ServerRequestTrace {
  readonly server: object;
  readonly method: string;
  readonly id: string;
  readonly params: unknown;
  /** The caller's connection (duplex links), its transport's name and its peer address. */
  readonly connection: object | undefined;
  readonly transport: string | undefined;
  readonly peer: string | undefined;
  /** Bytes of the frame the request came in (a batch's whole frame). */
  readonly requestSize: number | undefined;
  result?: unknown;
  error?: unknown;
}

/** Traces one served request (only called when `serverRequest` has subscribers). */
export function traceServed<R extends IpcMessage>(
  context: ServerRequestTrace,
  run: () => R | Promise<R>,
): R | Promise<R> {
  return traceCall(channels.serverRequest, context, run, (reply) => {
    const p = reply.payload as IpcPayload;
    if (p.type === 'response' && !p.success) return errorOfReply(p);
    if (p.type === 'response') context.result = p.result;
    return undefined;
  });
}
