/**
 * The RPC client: correlation, timeouts, cancellation, events, reconnect. It runs over a duplex
 * Link (correlating responses by message id) or over a RequestChannel (the transport
 * correlates); it never knows which transport is below.
 */
import type {
  AnyContract,
  Contract,
  EventDataOf,
  EventName,
  MethodName,
  ParamsOf,
  ResultOf,
} from './contract.js';
import { validate } from './contract.js';
import { Deadlines } from './deadlines.js';
import {
  CANCEL_EVENT,
  type Dialect,
  dialectForLink,
  STREAM_CREDIT_EVENT,
  SUBSCRIBE_METHOD,
  UNSUBSCRIBE_METHOD,
} from './dialect.js';
import { abortedError, closedError, IpcError, RemoteError, timeoutError, tooLargeError } from './errors.js';
import { EventStream, type EventStreamOptions } from './event-stream.js';
import { CLIENT_URL, type ClientRoute, FailoverRouter, ROUTE_ONLY } from './failover.js';
import { IdTable } from './id-table.js';
import {
  type ClientCall,
  type ClientInterceptor,
  interceptPromise,
  interceptStream,
} from './interceptors.js';
import { DEFAULT_LIMITS, frameOver, frameSize } from './limits.js';
import {
  event,
  type IpcMessage,
  newMessageId,
  type RequestMessage,
  type ResponsePayload,
  request,
} from './message.js';
import { type ClientRequestTrace, channels, debug, traceCall } from './observability.js';
import { type ConnectionState, type ReconnectOptions, Reconnector, ReconnectPolicy } from './reconnect.js';
import { type ClientStats, RequestCounters } from './stats.js';
import {
  creditWindow,
  type RequestRoute,
  ResultStream,
  type RoutedRequestOptions,
  routeEvent,
  type StreamItemOf,
  type StreamIterator,
  type StreamOptions,
} from './stream-client.js';
import type { ChannelConnector, Frame, Link, LinkConnector, RequestChannel } from './transport.js';

/** One entry of `client.batch()`: a request, or a notification with `notify: true`. */
export type BatchCall<C extends Contract = Contract> = {
  [M in MethodName<C>]: { method: M; params?: ParamsOf<C, M>; notify?: boolean };
}[MethodName<C>];

/** requestNow's internal option: register the request but leave the writing to batch(). */
interface BatchedRequestOptions extends RequestOptions {
  batch: Pending[];
}

export interface RequestOptions {
  /** Milliseconds before TIMEOUT; 0 for none. Defaults to the client's `timeout`. */
  timeout?: number;
  /** Aborting rejects with ABORTED and, where the dialect can say so, cancels on the server. */
  signal?: AbortSignal;
  /** May be sent again after a reconnect (overrides the contract and `idempotent` option). */
  idempotent?: boolean;
  /**
   * Receives each `ctx.progress(value)` of the handler, in order, before the result. Needs a
   * dialect that carries progress (docs/core.md); elsewhere the request rejects UNSUPPORTED.
   */
  onProgress?: (value: unknown) => void;
}

export interface RpcClientOptions<C extends Contract = AnyContract> {
  dialect: Dialect;
  /** Dials a duplex link (many requests in flight, events). Give this or `channel`. */
  link?: LinkConnector;
  /** Opens a request/reply channel (the transport correlates; no events). */
  channel?: ChannelConnector;
  /** Typed methods and events; schemas in it validate results and events on receipt. */
  contract?: C;
  /** Default request timeout in ms (0: none). Default 30 000. */
  timeout?: number;
  /** The address dialled, reported by `client.url` (openclaw-ipc's connect() sets it). */
  url?: string;
  /** Requests in flight at once, sent or waiting for a connection. Default 1024; over it: CAPACITY. */
  maxInFlight?: number;
  /** Largest encoded request, in bytes. Default 1 MiB; over it: MESSAGE_TOO_LARGE. */
  maxMessageSize?: number;
  /** Reconnect policy after a lost connection; `false` to close instead. Default: on. */
  reconnect?: ReconnectOptions | false;
  /** Retry the first connection under the reconnect policy too. Default false (fail fast). */
  retryInitialConnect?: boolean;
  /** Methods safe to send again after a reconnect. Others pending at a disconnect reject CLOSED. */
  idempotent?: readonly string[];
  /** Called for failures nobody awaits (an undecodable frame, an invalid event). */
  onError?: (error: IpcError) => void;
  /** Interceptors run around every request and notify, in order (as `intercept()` each). */
  interceptors?: readonly ClientInterceptor[];
  /**
   * Several places to connect to, in order of preference (instead of `link` or `channel`): the
   * first that answers is used; see failover.ts. openclaw-ipc's `connect([url, …])` makes them.
   */
  routes?: readonly ClientRoute[];
  /**
   * With `routes`: how often, in ms, a client on a later route dials the earlier ones to go back
   * to the first that answers (between requests). Default 5000; 0: stay until a loss.
   */
  probeInterval?: number;
}

interface Pending {
  id: string;
  method: string;
  message: IpcMessage;
  /**
   * The encoded request until it is handed to a transport, which owns it from then on (a resend
   * after a reconnect encodes `message` again); not kept, so that a request in flight does not
   * hold its frame's memory.
   */
  frame: Frame | undefined;
  /** The dialect instance that encoded `frame`; re-encoded if the link changed since. */
  encodedWith: Dialect;
  resolve: (value: unknown) => void;
  reject: (error: IpcError) => void;
  /** performance.now() at which it times out (Infinity: never). */
  deadline: number;
  /** The timeout in ms, for the error message. */
  timeout: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The caller's `idempotent` option; unset: the method's (looked up only at a disconnect). */
  idempotent: boolean | undefined;
  sent: boolean;
  /** performance.now() when request() was called, for the latency in stats(). */
  start: number;
  /** The client.request trace of this request, when it is traced. */
  trace: ClientRequestTrace | undefined;
}

/**
 * A promise's resolve and reject, taken out by one shared executor: a request makes no closure
 * for its promise (Promise.withResolvers is not in Node 20).
 */
const captured: { resolve: (value: any) => void; reject: (error: IpcError) => void } = {
  resolve: () => {},
  reject: () => {},
};
const capture = (resolve: (value: any) => void, reject: (error: IpcError) => void): void => {
  captured.resolve = resolve;
  captured.reject = reject;
};

/** A counted request id as the string of its number (Dialect.countedId's default). */
const decimalId = (n: number): string => `${n}`;

type Connection =
  | { kind: 'link'; link: Link; dialect: Dialect; url?: string }
  | { kind: 'channel'; channel: RequestChannel; dialect: Dialect; url?: string };
type EventHandler = (data: unknown, eventType: string) => void;

/**
 * Writes a frame on a link. The promise send() may return only reports backpressure (requests
 * in flight are bounded by maxInFlight), so its rejection is not waited for; what send() throws
 * is the caller's to handle.
 */
function writeFrame(link: Link, frame: Frame): void {
  const written = link.send(frame);
  if (written) written.catch(() => {});
}

export class RpcClient<C extends Contract = AnyContract> {
  /** The dialect the server (or client) was made with. */
  readonly dialect: Dialect;
  private readonly options: RpcClientOptions<C>;
  /** The connection, its state and the reconnect loop. */
  private readonly keeper: Reconnector<Connection>;
  private readonly pending = new IdTable<Pending>();
  /** The timeouts of pending requests, on one timer. */
  private readonly deadlines = new Deadlines<Pending>(
    (p) => this.pending.get(p.id) === p,
    (p) => {
      this.sendCancel(p, 'TIMEOUT');
      this.settle(p, timeoutError(`request ${p.method}`, p.timeout));
    },
  );
  /** Requests whose progress or stream items are awaited, by id (made at the first). */
  private routes: Map<string, RequestRoute> | undefined;
  /** Whether requests carry their deadline (a duplex link whose dialect carries it). */
  private readonly sendsDeadline: boolean;
  private readonly listeners = new Map<string, Set<EventHandler>>();
  private readonly topics = new Set<string>();
  /** Event streams still open; ended when the client closes. */
  private readonly streams = new Set<EventStream<unknown>>();
  private readonly idempotentMethods: Set<string>;
  /** The dialect instance of the current (or next) link. */
  private linkDialect: Dialect;
  private readonly timeout: number;
  private readonly maxInFlight: number;
  private readonly maxMessageSize: number;
  /**
   * The id of the n-th request when ids are this client's counter (Dialect.opaqueIds), undefined
   * when they are UUIDs.
   */
  private readonly countedId: ((n: number) => string) | undefined;
  /** The last counted request id; never reset, so ids stay unique across reconnects. */
  private lastId = 0;
  private readonly interceptors: ClientInterceptor[] = [];
  /** What stats() reports. */
  private readonly counters = new RequestCounters();
  private reconnects = 0;
  /** The size of the frame being read, for the client.request trace. */
  private lastFrameSize = 0;
  /** With `routes`: which one is in use, the probe for earlier ones, the switch back. */
  private readonly router: FailoverRouter<Connection> | undefined;
  /** Whether a connection was open before (the next open is a reconnect), and is now. */
  private wasOpen = false;
  private connected = false;

  /** Creates a client and waits for its first connection. */
  static async connect<C extends Contract = AnyContract>(
    options: RpcClientOptions<C>,
  ): Promise<RpcClient<C>> {
    const client = new RpcClient<C>(options);
    await client.start();
    return client;
  }

  /** Prefer {@link RpcClient.connect}; a client made with `new` connects on `start()`. */
  constructor(options: RpcClientOptions<C>) {
    if ((options.link ? 1 : 0) + (options.channel ? 1 : 0) + (options.routes ? 1 : 0) !== 1) {
      throw new IpcError('INVALID_ARGUMENT', 'RpcClient needs exactly one of `link`, `channel` or `routes`');
    }
    this.options = options;
    this.dialect = options.dialect;
    this.linkDialect = dialectForLink(options.dialect);
    const policy = options.reconnect === false ? undefined : new ReconnectPolicy(options.reconnect);
    this.keeper = new Reconnector<Connection>(
      {
        dial: (signal) => this.dial(signal),
        attach: (conn, lost) => this.attach(conn, lost),
        discard: (conn) => (conn.kind === 'link' ? conn.link.close() : conn.channel.close()),
        opened: (conn) => {
          this.router?.opened();
          this.observeOpen(conn);
          this.opened();
        },
        lost: (_conn, error) => {
          this.observeClose(error);
          this.settleSent(error);
        },
        retrying: (attempt, delay, error) => this.observeRetry(attempt, delay, error),
        closing: (error) => this.closing(error),
        listenerError: (error) => this.report(error),
      },
      policy,
    );
    this.timeout = options.timeout ?? DEFAULT_LIMITS.timeout;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_LIMITS.maxInFlight;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.countedId =
      options.dialect.opaqueIds === true && (options.routes ?? []).every((r) => r.dialect.opaqueIds === true)
        ? (options.dialect.countedId ?? decimalId)
        : undefined;
    this.router = options.routes
      ? new FailoverRouter<Connection>(options.routes, options.probeInterval, {
          dial: (route, _index, signal) => this.dialRoute(route, signal),
          discard: (conn) => (conn.kind === 'link' ? conn.link.close() : conn.channel.close()),
          busy: () => this.hasSent(),
          open: () => this.keeper.state === 'open',
          replace: (conn) => this.keeper.replace(conn),
          signal: this.keeper.signal,
        })
      : undefined;
    this.sendsDeadline = options.routes
      ? options.routes.some((r) => r.link !== undefined && r.dialect.carries?.deadline === true)
      : options.link !== undefined && options.dialect.carries?.deadline === true;
    this.idempotentMethods = new Set(options.idempotent ?? []);
    for (const [name, def] of Object.entries(options.contract?.methods ?? {})) {
      if (def.idempotent) this.idempotentMethods.add(name);
    }
    if (options.interceptors) this.interceptors.push(...options.interceptors);
  }

  /** The connection state: connecting, open, reconnecting or closed. */
  get state(): ConnectionState {
    return this.keeper.state;
  }

  /**
   * The URL in use: with several (failover), the current or last connection's; for a client made
   * from one URL by openclaw-ipc's connect(), that URL; otherwise undefined.
   */
  get url(): string | undefined {
    if (this.router) return this.router.url;
    return this.options.url ?? (this.options as { [CLIENT_URL]?: string })[CLIENT_URL];
  }

  /** Requests in flight (sent or waiting for a connection). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The reconnect policy (undefined with `reconnect: false`), e.g. for a retry's backoff. */
  get reconnectPolicy(): ReconnectPolicy | undefined {
    return this.keeper.policy;
  }

  /**
   * Adds an interceptor run around every request and notify (see {@link ClientInterceptor});
   * the first added is the outermost.
   */
  intercept(interceptor: ClientInterceptor): this {
    this.interceptors.push(interceptor);
    return this;
  }

  /** A snapshot of the client's counters (see {@link ClientStats}). */
  stats(): ClientStats {
    const c = this.counters;
    return {
      inFlight: this.pending.size,
      total: c.total,
      errors: c.errorCounts(),
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      reconnects: this.reconnects,
      latency: c.latency.summary(),
    };
  }

  /**
   * Observes state changes, with the URL in use (see {@link RpcClient.url}); returns the function
   * that stops observing.
   */
  onState(listener: (state: ConnectionState, error?: IpcError, url?: string) => void): () => void {
    return this.keeper.onState((state, error) => listener(state, error, this.url));
  }

  /**
   * Dials the first connection (under the policy if `retryInitialConnect`). Rejects CONNECT, or
   * CLOSED when the link closed at once; requests made before reject with the same error.
   */
  start(): Promise<void> {
    // A client made only so that a failover client can take its route out of it.
    if ((this.options as { [ROUTE_ONLY]?: boolean })[ROUTE_ONLY]) return Promise.resolve();
    return this.keeper.start(this.options.retryInitialConnect === true);
  }

  /**
   * Calls `method` and resolves with its result.
   * Rejects with REMOTE (a RemoteError: the handler failed), TIMEOUT, ABORTED, CLOSED,
   * CAPACITY (too many in flight), MESSAGE_TOO_LARGE or SERIALIZATION.
   */
  request<M extends MethodName<C>>(
    method: M,
    params?: ParamsOf<C, M>,
    options?: RequestOptions,
  ): Promise<ResultOf<C, M>> {
    if (this.interceptors.length > 0) {
      return interceptPromise(this.interceptors, this.call('request', method, params, options), (c) =>
        this.requestTraced(c.method as M, c.params as ParamsOf<C, M>, c.options),
      ) as Promise<ResultOf<C, M>>;
    }
    return this.requestTraced(method, params, options);
  }

  /** A request, traced when the client.request channel has subscribers. */
  private requestTraced<M extends MethodName<C>>(
    method: M,
    params: ParamsOf<C, M> | undefined,
    options: RequestOptions | undefined,
  ): Promise<ResultOf<C, M>> {
    if (!channels.clientRequest.hasSubscribers) return this.requestNow(method, params, options, undefined);
    const conn = this.keeper.current;
    const trace: ClientRequestTrace = {
      client: this,
      method,
      params,
      transport:
        conn === undefined ? undefined : conn.kind === 'link' ? conn.link.transport : conn.channel.transport,
      peer: conn?.kind === 'link' ? conn.link.remoteAddress : undefined,
      url: this.url,
      id: undefined,
      requestSize: undefined,
      responseSize: undefined,
    };
    return traceCall(channels.clientRequest, trace, () =>
      this.requestNow(method, params, options, trace),
    ) as Promise<ResultOf<C, M>>;
  }

  /** The call an interceptor sees. */
  private call(
    kind: ClientCall['kind'],
    method: string,
    params: unknown,
    options?: RequestOptions,
  ): ClientCall {
    return {
      kind,
      method,
      params,
      options,
      idempotent: this.isIdempotent(method, options?.idempotent),
      client: this,
    };
  }

  private requestNow<M extends MethodName<C>>(
    method: M,
    params: ParamsOf<C, M> | undefined,
    options: RequestOptions | undefined,
    trace: ClientRequestTrace | undefined,
  ): Promise<ResultOf<C, M>> {
    // No default `{}`: the common call (no options) allocates no options object.
    const keeper = this.keeper;
    if (keeper.state === 'closed') return Promise.reject(closedError('client'));
    if (this.pending.size >= this.maxInFlight) {
      debug('client: %s refused, %d requests in flight', method, this.pending.size);
      return Promise.reject(
        new IpcError('CAPACITY', `${this.maxInFlight} requests already in flight`, {
          details: { maxInFlight: this.maxInFlight },
        }),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
    const id = this.countedId !== undefined ? this.countedId(++this.lastId) : newMessageId();
    const timeout = options?.timeout ?? this.timeout;
    const body = params === undefined ? {} : params;
    // One object shape from the start (no property added later) when the deadline travels.
    const message: RequestMessage =
      timeout > 0 && this.sendsDeadline
        ? { id, payload: { type: 'request', method, params: body, timeoutMs: Math.ceil(timeout) } }
        : request(method, body, id);
    let route: RequestRoute | undefined;
    if (options !== undefined && (options.onProgress || (options as RoutedRequestOptions).route)) {
      const routed = this.routeOf(options as RoutedRequestOptions);
      if (routed instanceof IpcError) return Promise.reject(routed);
      route = routed;
      route.id = id;
      if (route.progress) message.payload.progress = true;
      if (route.stream !== undefined) message.payload.stream = route.stream;
    }
    const encodedWith = this.linkDialect;
    let frame: Frame;
    try {
      frame = encodedWith.encode(message);
    } catch (err) {
      return Promise.reject(IpcError.from(err, 'SERIALIZATION'));
    }
    if (frameOver(frame, this.maxMessageSize)) {
      return Promise.reject(tooLargeError(frameSize(frame), this.maxMessageSize, 'request'));
    }
    if (trace) {
      trace.id = id;
      trace.requestSize = frameSize(frame);
    }
    // On an open link the frame leaves first and the request's records are made after: the
    // reply cannot be read before this turn ends, and the peer starts on it meanwhile.
    const conn = keeper.state === 'open' && this.router?.holding !== true ? keeper.current : undefined;
    let sent = false;
    const batch = options === undefined ? undefined : (options as BatchedRequestOptions).batch;
    if (batch !== undefined) {
      // Written by batch() with the others, as one frame.
      sent = conn?.kind === 'link' && conn.dialect === encodedWith;
    } else if (conn?.kind === 'link' && conn.dialect === encodedWith) {
      try {
        writeFrame(conn.link, frame);
      } catch (err) {
        return Promise.reject(IpcError.from(err, 'CLOSED'));
      }
      this.counters.bytesOut += frameSize(frame);
      // A link that reported its loss from send() itself: as if it was lost right after.
      const still = keeper.current === conn;
      if (!still && !(keeper.policy && this.isIdempotent(method, options?.idempotent)))
        return Promise.reject(new IpcError('CLOSED', 'connection lost'));
      sent = still;
    }
    const promise = new Promise<ResultOf<C, M>>(capture);
    const p: Pending = {
      id,
      method,
      message,
      frame: sent ? undefined : frame,
      encodedWith,
      resolve: captured.resolve,
      reject: captured.reject,
      deadline: Number.POSITIVE_INFINITY,
      timeout: 0,
      signal,
      onAbort: undefined,
      idempotent: options?.idempotent,
      sent,
      start: performance.now(),
      trace,
    };
    if (route) (this.routes ??= new Map()).set(id, route);
    if (batch !== undefined && sent) batch.push(p);
    this.counters.total++;
    if (timeout > 0) {
      p.timeout = timeout;
      p.deadline = p.start + timeout;
      this.deadlines.add(p, this.pending.size);
    }
    if (signal) {
      p.onAbort = () => {
        this.sendCancel(p);
        this.settle(p, abortedError(signal.reason));
      };
      signal.addEventListener('abort', p.onAbort, { once: true });
    }
    this.pending.set(id, p);
    if (!sent && keeper.state === 'open') this.transmit(p);
    return promise;
  }

  /**
   * Sends requests and notifications together as one frame, where the dialect has batches
   * (JSON-RPC 2.0: one array); the server answers the requests in one frame too. Resolves, once
   * every request has settled, with one settled result per entry, in order: a request's value or
   * error as `request()` would give it, a notification's `undefined`. `options` (timeout, signal)
   * apply to each request. Requests are sent again after a reconnect as `request()`'s are, each
   * on its own. While the client is not connected, the entries wait and are sent one by one when
   * it is. A batch does not pass through interceptors (they could wait before `next()`, and the
   * frame is written at once).
   * @throws IpcError UNSUPPORTED when the dialect has no batches (docs/core.md), INVALID_ARGUMENT
   *   for an empty batch, MESSAGE_TOO_LARGE when the frame would be over `maxMessageSize`
   *   (nothing is sent; the requests reject with it).
   */
  async batch(
    calls: readonly BatchCall<C>[],
    options?: Pick<RequestOptions, 'timeout' | 'signal'>,
  ): Promise<PromiseSettledResult<unknown>[]> {
    if (!this.linkDialect.encodeBatch || !(this.options.link || this.options.routes)) {
      throw new IpcError('UNSUPPORTED', `batches cannot be carried by the ${this.dialect.name} dialect`, {
        details: { feature: 'batch', dialect: this.dialect.name },
      });
    }
    if (!Array.isArray(calls) || calls.length === 0)
      throw new IpcError('INVALID_ARGUMENT', 'a batch needs at least one call');
    const keeper = this.keeper;
    const conn = keeper.state === 'open' && this.router?.holding !== true ? keeper.current : undefined;
    const dialect = conn?.kind === 'link' ? conn.dialect : undefined;
    if (conn?.kind !== 'link' || dialect !== this.linkDialect || !dialect.encodeBatch) {
      return Promise.allSettled(
        calls.map((c) =>
          c.notify
            ? this.notifyNow(c.method, c.params)
            : this.requestNow(c.method, c.params, options, undefined),
        ),
      );
    }
    const held: Pending[] = [];
    const messages: IpcMessage[] = [];
    const outcomes: Array<Promise<unknown> | undefined> = [];
    for (const c of calls) {
      if (c.notify) {
        messages.push(event(c.method, c.params === undefined ? {} : c.params));
        outcomes.push(undefined);
        continue;
      }
      const before = held.length;
      outcomes.push(
        this.requestNow(
          c.method as MethodName<C>,
          c.params as never,
          { ...options, batch: held } as BatchedRequestOptions,
          undefined,
        ),
      );
      if (held.length > before) messages.push(held[held.length - 1]!.message);
    }
    if (messages.length > 0) {
      let frame: Frame | undefined;
      let error: IpcError | undefined;
      try {
        frame = dialect.encodeBatch(messages);
        if (frameOver(frame, this.maxMessageSize))
          error = tooLargeError(frameSize(frame), this.maxMessageSize, 'batch');
      } catch (err) {
        error = IpcError.from(err, 'SERIALIZATION');
      }
      if (!error && frame !== undefined) {
        try {
          writeFrame(conn.link, frame);
          this.counters.bytesOut += frameSize(frame);
        } catch (err) {
          error = IpcError.from(err, 'CLOSED');
        }
      }
      if (error) {
        for (const p of held) if (this.pending.get(p.id) === p) this.settle(p, error);
        const failed = Promise.reject(error);
        return Promise.allSettled(outcomes.map((o) => o ?? failed));
      }
    }
    return Promise.allSettled(outcomes.map((o) => o ?? Promise.resolve(undefined)));
  }

  /**
   * Sends a one-way message (an event named `method` in the canonical model; a JSON-RPC
   * notification). Resolves when the transport has taken it (after backpressure).
   */
  notify<M extends MethodName<C>>(method: M, params?: ParamsOf<C, M>): Promise<void> {
    if (this.interceptors.length > 0) {
      return interceptPromise(this.interceptors, this.call('notify', method, params), (c) =>
        this.notifyNow(c.method, c.params),
      ) as Promise<void>;
    }
    return this.notifyNow(method, params);
  }

  private async notifyNow(method: string, params: unknown): Promise<void> {
    const conn = this.requireOpen();
    const frame = conn.dialect.encode(event(method, params === undefined ? {} : params));
    if (frameOver(frame, this.maxMessageSize))
      throw tooLargeError(frameSize(frame), this.maxMessageSize, 'notification');
    this.counters.bytesOut += frameSize(frame);
    if (conn.kind === 'link') await conn.link.send(frame);
    else await conn.channel.request(frame, { timeout: this.timeout });
  }

  /** Calls `handler` for each event named `name` ('*' for all); returns the unsubscriber. */
  on<E extends EventName<C>>(
    name: E | '*',
    handler: (data: EventDataOf<C, E>, eventType: string) => void,
  ): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(handler as EventHandler);
    return () => {
      set.delete(handler as EventHandler);
      if (set.size === 0) this.listeners.delete(name);
    };
  }

  /** Events named `name` as an async iterator with a bounded queue. */
  events<E extends EventName<C>>(
    name: E | '*',
    options: EventStreamOptions = {},
  ): EventStream<EventDataOf<C, E>> {
    let stream: EventStream<EventDataOf<C, E>> | undefined;
    const off = this.on(name, (data) => stream?.push(data as EventDataOf<C, E>));
    const created = new EventStream<EventDataOf<C, E>>(options, () => {
      off();
      this.streams.delete(created as EventStream<unknown>);
    });
    stream = created;
    if (this.keeper.state === 'closed') created.end();
    if (!created.done) this.streams.add(created as EventStream<unknown>);
    return created;
  }

  /**
   * Calls `method`, whose handler returns an AsyncIterable (or is an async generator), and
   * returns its items as an async iterator: typed from the contract (`method<P, AsyncIterable<T>>()`
   * gives items of type `T`). The request is sent at the first `next()`. The loop ends after the
   * last item, or throws the server's error (REMOTE), CLOSED (the link was lost), TIMEOUT or
   * ABORTED; `break` or `return()` stop the handler's generator on the server.
   * @throws IpcError UNSUPPORTED at once when the dialect cannot carry streams (docs/core.md);
   *   INVALID_ARGUMENT for a credit out of range.
   */
  stream<M extends MethodName<C>>(
    method: M,
    params?: ParamsOf<C, M>,
    options: StreamOptions = {},
  ): StreamIterator<StreamItemOf<C, M>> {
    const window = creditWindow(options.credit, DEFAULT_LIMITS.credit);
    const refused = this.unsupported('stream', 'streamed results');
    if (refused) throw refused;
    // The stream's own request and its credit grants are parts of one call: interceptors see the
    // call once (kind 'stream'), not the messages it is made of.
    const open = (c: ClientCall): ResultStream<StreamItemOf<C, M>> =>
      new ResultStream<StreamItemOf<C, M>>(
        {
          start: (route, signal, timeout) =>
            this.requestNow(
              c.method as M,
              c.params as ParamsOf<C, M>,
              { timeout, signal, idempotent: false, route } as RoutedRequestOptions,
              undefined,
            ),
          grant: (id, n) => {
            this.notifyNow(STREAM_CREDIT_EVENT, { id, n }).catch(() => {});
          },
        },
        options,
        window,
      );
    if (this.interceptors.length === 0) return open(this.call('stream', method, params, options));
    const intercepted = interceptStream(
      this.interceptors,
      this.call('stream', method, params, options),
      open,
    ) as AsyncIterable<StreamItemOf<C, M>>;
    return (async function* () {
      yield* intercepted;
    })() as StreamIterator<StreamItemOf<C, M>>;
  }

  /** Subscribes to a topic published by the server; renewed after every reconnect. */
  async subscribe(topic: EventName<C>, options: RequestOptions = {}): Promise<void> {
    await this.request(SUBSCRIBE_METHOD as MethodName<C>, { topic } as never, options);
    this.topics.add(topic);
  }

  async unsubscribe(topic: EventName<C>, options: RequestOptions = {}): Promise<void> {
    this.topics.delete(topic);
    await this.request(UNSUBSCRIBE_METHOD as MethodName<C>, { topic } as never, options);
  }

  /**
   * Closes the client: every pending request rejects CLOSED, every event stream ends, at once.
   * The promise resolves once the connection's link has finished what it does after closing (a
   * file channel's cursor and files: see Link.whenClosed), so that its files may be removed;
   * it never rejects.
   */
  close(): Promise<void> {
    const conn = this.keeper.current;
    this.keeper.close();
    return conn?.kind === 'link' && conn.link.whenClosed ? conn.link.whenClosed() : Promise.resolve();
  }

  // ---- connection management (the Reconnector's hooks) ----

  private async dial(signal: AbortSignal): Promise<Connection> {
    if (this.router) return (await this.router.dial(signal)).conn;
    const dialect = dialectForLink(this.dialect);
    if (this.options.link) return { kind: 'link', link: await this.options.link(signal), dialect };
    return { kind: 'channel', channel: await this.options.channel!(signal), dialect };
  }

  /** Dials one failover route. */
  private async dialRoute(route: ClientRoute, signal: AbortSignal): Promise<Connection> {
    const dialect = dialectForLink(route.dialect);
    if (route.link) return { kind: 'link', link: await route.link(signal), dialect, url: route.url };
    return { kind: 'channel', channel: await route.channel!(signal), dialect, url: route.url };
  }

  /** Whether a request sent on the current connection waits for its reply. */
  private hasSent(): boolean {
    for (const p of this.pending.values()) if (p.sent) return true;
    return false;
  }

  private attach(conn: Connection, lost: (error?: IpcError) => void): void {
    this.linkDialect = conn.dialect;
    if (conn.kind === 'link') {
      conn.link.attach({ onFrame: (frame) => this.onFrame(conn, frame), onClose: lost });
    } else {
      conn.channel.onClose?.(lost);
    }
  }

  /** The link is open: subscribe to the topics again, send what waited for it. */
  private opened(): void {
    for (const topic of this.topics) {
      this.request(SUBSCRIBE_METHOD as MethodName<C>, { topic } as never, { idempotent: true }).catch((err) =>
        this.report(IpcError.from(err)),
      );
    }
    for (const p of this.pending.values()) if (!p.sent) this.transmit(p);
  }

  /** The link was lost: what was sent on it waits for the next one if idempotent, else rejects. */
  private settleSent(lost: IpcError): void {
    for (const p of [...this.pending.values()]) {
      if (!p.sent) continue;
      if (this.isIdempotent(p.method, p.idempotent)) p.sent = false;
      else this.settle(p, lost);
    }
  }

  /** The client is closing: everything pending rejects, every event stream ends. */
  private closing(error: IpcError | undefined): void {
    this.router?.close();
    if (this.connected) this.observeClose(error);
    this.failAll(error ?? closedError('client'));
    this.deadlines.clear();
    for (const stream of [...this.streams]) stream.end();
    for (const set of this.listeners.values()) set.clear();
  }

  private requireOpen(): Connection {
    const conn = this.keeper.current;
    if (this.keeper.state === 'closed') throw closedError('client');
    if (!conn) throw new IpcError('CLOSED', 'not connected (reconnecting)');
    return conn;
  }

  // ---- requests ----

  private transmit(p: Pending): void {
    const conn = this.keeper.current;
    if (!conn || this.router?.holding === true) return;
    p.sent = true;
    let frame = p.frame;
    const payload = p.message.payload;
    // Sent late or again: the server gets the time the caller still waits, not the original.
    const late = payload.type === 'request' && payload.timeoutMs !== undefined;
    if (frame === undefined || p.encodedWith !== conn.dialect || late) {
      if (late) payload.timeoutMs = Math.max(1, Math.ceil(p.deadline - performance.now()));
      try {
        frame = conn.dialect.encode(p.message);
      } catch (err) {
        this.settle(p, IpcError.from(err, 'SERIALIZATION'));
        return;
      }
      p.encodedWith = conn.dialect;
    }
    p.frame = undefined;
    this.counters.bytesOut += frameSize(frame);
    if (conn.kind === 'link') {
      try {
        writeFrame(conn.link, frame);
      } catch (err) {
        this.settle(p, IpcError.from(err, 'CLOSED'));
      }
      return;
    }
    // The transport enforces the same deadline and the caller's signal itself (nng: on its aio),
    // so no AbortController is made per request; closing the channel rejects what is left.
    const timeout =
      p.deadline === Number.POSITIVE_INFINITY
        ? undefined
        : Math.max(1, Math.ceil(p.deadline - performance.now()));
    conn.channel.request(frame, { timeout, signal: p.signal }).then(
      (reply) => this.onChannelReply(p, conn.dialect, reply),
      (err) => {
        if (this.pending.get(p.id) !== p) return;
        const e = IpcError.from(err, 'CLOSED');
        if (e.code === 'CLOSED' && this.isIdempotent(p.method, p.idempotent) && this.keeper.policy)
          p.sent = false;
        else this.settle(p, e);
      },
    );
  }

  private onChannelReply(p: Pending, dialect: Dialect, frame: Frame): void {
    const size = frameSize(frame);
    this.counters.bytesIn += size;
    if (p.trace) p.trace.responseSize = size;
    if (this.pending.get(p.id) !== p) return;
    let decoded: IpcMessage | IpcMessage[];
    try {
      decoded = dialect.decode(frame);
    } catch (err) {
      this.settle(p, IpcError.from(err, 'PROTOCOL'));
      return;
    }
    const msg = Array.isArray(decoded) ? decoded[0] : decoded;
    if (msg?.payload.type !== 'response') {
      this.settle(p, new IpcError('PROTOCOL', 'reply is not a response'));
      return;
    }
    this.onResponse(p, msg.payload);
  }

  private onFrame(conn: Connection & { kind: 'link' }, frame: Frame): void {
    const size = frameSize(frame);
    this.counters.bytesIn += size;
    this.lastFrameSize = size;
    let decoded: IpcMessage | IpcMessage[];
    try {
      decoded = conn.dialect.decode(frame);
    } catch (err) {
      const e = IpcError.from(err, 'PROTOCOL');
      debug('client: undecodable frame, closing the link: %s', e.message);
      this.report(e);
      conn.link.close(e);
      return;
    }
    if (Array.isArray(decoded)) for (const m of decoded) this.onMessage(m);
    else this.onMessage(decoded);
  }

  private onMessage(msg: IpcMessage): void {
    const payload = msg.payload;
    if (payload.type === 'response') {
      const p = this.pending.get(msg.id);
      if (p) this.onResponse(p, payload);
      return;
    }
    if (payload.type === 'event') {
      if (this.routes !== undefined && routeEvent(this.routes, payload.event_type, payload.data)) return;
      this.dispatchEvent(payload.event_type, payload.data);
      return;
    }
    this.report(new IpcError('PROTOCOL', `server sent a request (${payload.method}); clients serve none`));
  }

  /** `p` is pending (both callers just found it in `pending`). */
  private onResponse(p: Pending, payload: ResponsePayload): void {
    if (p.trace && p.trace.responseSize === undefined) p.trace.responseSize = this.lastFrameSize;
    if (!payload.success) {
      // The server's timer for the deadline this request carried fired, and its answer was read
      // before this client's own timer ran (both were due): the caller's deadline has passed
      // either way, so it gets the same TIMEOUT as from its own timer.
      if (payload.code === 'TIMEOUT' && p.timeout > 0 && performance.now() >= p.deadline) {
        this.finish(p, timeoutError(`request ${p.method}`, p.timeout));
        return;
      }
      const err = new RemoteError(payload.error ?? 'remote error', {
        remoteCode: payload.code,
        details: payload.details,
        retryable: payload.retryable,
        retryAfterMs: payload.retryAfterMs,
        method: p.method,
      });
      this.finish(p, err);
      return;
    }
    const schema = this.options.contract?.methods[p.method]?.result;
    if (!schema) {
      this.finish(p, undefined, payload.result);
      return;
    }
    validate(schema, payload.result, `result of ${p.method}`).then(
      (value) => this.settle(p, undefined, value),
      (err) => this.settle(p, IpcError.from(err)),
    );
  }

  /**
   * UNSUPPORTED when this client's connection cannot carry `feature` (a request/reply channel
   * carries none; a dialect says what it carries), else undefined.
   */
  private unsupported(feature: 'progress' | 'stream', what: string): IpcError | undefined {
    if (this.options.link && this.dialect.carries?.[feature]) return undefined;
    const over = this.options.link ? `the ${this.dialect.name} dialect` : 'a request/reply channel';
    return new IpcError('UNSUPPORTED', `${what} cannot be carried by ${over}`, {
      details: { feature, dialect: this.dialect.name },
    });
  }

  /** The route of a request's progress or stream items, or UNSUPPORTED. */
  private routeOf(options: RoutedRequestOptions): RequestRoute | IpcError {
    const route = options.route ?? { id: '' };
    if (options.onProgress) {
      const refused = this.unsupported('progress', 'progress');
      if (refused) return refused;
      const onProgress = options.onProgress;
      route.progress = (value) => {
        try {
          onProgress(value);
        } catch (err) {
          this.report(IpcError.from(err));
        }
      };
    }
    return route;
  }

  /** Whether a call of `method` may be sent again after a lost link (its own flag first). */
  private isIdempotent(method: string, flag: boolean | undefined): boolean {
    return flag ?? this.idempotentMethods.has(method);
  }

  /** Settles a pending request once: with an error, or with a value. */
  private settle(p: Pending, error: IpcError | undefined, value?: unknown): void {
    if (this.pending.get(p.id) !== p) return;
    this.finish(p, error, value);
  }

  /** Settles `p`, known to be pending. */
  private finish(p: Pending, error: IpcError | undefined, value?: unknown): void {
    this.pending.delete(p.id);
    if (this.routes?.size) this.routes.delete(p.id);
    this.counters.done(p.start, error?.code);
    if (this.router?.holding === true) this.router.settled();
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    if (error) {
      p.reject(error);
    } else p.resolve(value);
  }

  /** Tells the server to stop `p`'s handler; `reason` 'TIMEOUT' when the caller timed out. */
  private sendCancel(p: Pending, reason?: 'TIMEOUT'): void {
    const conn = this.keeper.current;
    if (!p.sent || !conn || conn.kind !== 'link' || !conn.dialect.cancellable) return;
    try {
      const data = reason ? { id: p.id, reason } : { id: p.id };
      const frame = conn.dialect.encode(event(CANCEL_EVENT, data));
      this.counters.bytesOut += frameSize(frame);
      writeFrame(conn.link, frame);
    } catch {
      // the link is closing: the server aborts the handler on disconnect anyway
    }
  }

  private failAll(error: IpcError): void {
    for (const p of [...this.pending.values()]) this.settle(p, error);
  }

  // ---- events ----

  private dispatchEvent(name: string, data: unknown): void {
    const schema = this.options.contract?.events[name]?.data;
    if (schema) {
      validate(schema, data, `event ${name}`).then(
        (value) => this.deliver(name, value),
        (err) => this.report(IpcError.from(err)),
      );
      return;
    }
    this.deliver(name, data);
  }

  private deliver(name: string, data: unknown): void {
    for (const key of [name, '*']) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const handler of [...set]) {
        try {
          handler(data, name);
        } catch (err) {
          this.report(IpcError.from(err));
        }
      }
    }
  }

  private report(error: IpcError): void {
    this.options.onError?.(error);
  }

  // ---- observability (the Reconnector's hooks) ----

  private observeOpen(conn: Connection): void {
    if (this.wasOpen) this.reconnects++;
    this.wasOpen = true;
    this.connected = true;
    const transport = conn.kind === 'link' ? conn.link.transport : conn.channel.transport;
    const peer = conn.kind === 'link' ? conn.link.remoteAddress : undefined;
    const url = this.url;
    debug('client: connected over %s%s', transport, url ? ` to ${url}` : peer ? ` to ${peer}` : '');
    if (channels.clientOpen.hasSubscribers)
      channels.clientOpen.publish({ client: this, url, transport, peer });
  }

  private observeClose(error: IpcError | undefined): void {
    this.connected = false;
    debug('client: connection %s', error ? `lost: ${error.message}` : 'closed by close()');
    if (channels.clientClose.hasSubscribers)
      channels.clientClose.publish({ client: this, url: this.url, error });
  }

  private observeRetry(attempt: number, delay: number, error: IpcError | undefined): void {
    debug(
      'client: reconnect attempt %d in %d ms%s',
      attempt + 1,
      Math.round(delay),
      error ? ` (${error.message})` : '',
    );
    if (channels.clientReconnect.hasSubscribers)
      channels.clientReconnect.publish({ client: this, attempt: attempt + 1, delay, error });
  }
}
