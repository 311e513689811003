/**
 * The RPC server: dispatches requests to handlers, runs them with a cancellation signal, answers
 * in the connection's dialect, and emits events. Serves duplex links and request/reply
 * listeners alike. A bad frame from one client never disturbs the others.
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
import {
  CANCEL_EVENT,
  type Dialect,
  dialectForLink,
  STREAM_CREDIT_EVENT,
  SUBSCRIBE_METHOD,
  UNSUBSCRIBE_METHOD,
} from './dialect.js';
import { closedError, IpcError, RemoteError } from './errors.js';
import { ChannelHandlerCap, HandlerDeadlines, handlerBudget } from './handler-deadline.js';
import { IdTable } from './id-table.js';
import { interceptServed, type ServerInterceptor } from './interceptors.js';
import { DEFAULT_LIMITS, frameOver, frameSize } from './limits.js';
import { event, failure, type IpcMessage, type RequestMessage, success } from './message.js';
import { channels, debug, type ServerRequestTrace, traceServed } from './observability.js';
import { RequestCounters, type ServerStats } from './stats.js';
import {
  grantCredit,
  refuseUnaskedStream,
  type StreamHost,
  sendProgress,
  serveStream,
} from './stream-server.js';
import type { Frame, Link, LinkHandler, LinkListener, ReplyListener, Responder } from './transport.js';

/** What a handler knows of the call it serves. */
export interface HandlerContext {
  /** The request's message id. */
  readonly id: string;
  readonly method: string;
  /**
   * Aborted when the caller cancels, disconnects, or the server closes; at `deadline` with an
   * IpcError TIMEOUT.
   */
  readonly signal: AbortSignal;
  /** The caller's connection (duplex links only). */
  readonly connection: ServerConnection | undefined;
  /**
   * When the handler should be done, in Date.now() milliseconds: the caller's deadline (where
   * the dialect carries it) or the server's `maxHandlerTime`, the earlier; undefined for none.
   */
  readonly deadline: number | undefined;
  /**
   * Sends `value` to the caller as progress, before the result: delivered in order to its
   * `onProgress`. Does nothing when the caller did not ask for progress.
   * @throws IpcError SERIALIZATION or MESSAGE_TOO_LARGE when `value` cannot be sent.
   */
  progress(value: unknown): void;
}

export type Handler<P = any, R = any> = (params: P, ctx: HandlerContext) => R | Promise<R>;

/**
 * Handlers by method name, typed by the contract: a method the contract lacks, wrong params or
 * a wrong result type are type errors.
 */
export type Handlers<C extends Contract = AnyContract> = {
  [M in MethodName<C>]?: Handler<ParamsOf<C, M>, ResultOf<C, M>>;
};

/**
 * Runs before every request (after params validation), including topic subscriptions and
 * methods that have no handler. Throwing answers the request with that error and nothing else
 * runs: the place for authentication and authorisation.
 */
export type Guard = (method: string, params: unknown, ctx: HandlerContext) => void | Promise<void>;

export interface RpcServerOptions<C extends Contract = AnyContract> {
  dialect: Dialect;
  contract?: C;
  /** Handlers registered before the first request can arrive (as `handle()` each). */
  handlers?: Handlers<C>;
  /** Largest encoded reply, in bytes; a larger result is answered MESSAGE_TOO_LARGE. Default 1 MiB. */
  maxMessageSize?: number;
  /** Requests run at once per connection; more are answered CAPACITY. Default 256. */
  maxConcurrent?: number;
  /** Connections served at once; more are closed with CAPACITY. Default 1024. */
  maxConnections?: number;
  /**
   * Longest a handler may run, in ms: then its `ctx.signal` aborts with TIMEOUT (as at the
   * caller's own deadline, whichever comes first). 0 (the default): no cap beyond the caller's.
   */
  maxHandlerTime?: number;
  /** Observes failures that no caller sees (bad frames, failed sends, handler crashes). */
  onError?: (error: IpcError, connection?: ServerConnection) => void;
  /** Interceptors run around every request, in order (as `intercept()` each). */
  interceptors?: readonly ServerInterceptor[];
}

let nextConnectionId = 1;

/**
 * The reply to a handler that failed with `err`. A handler stopped by its deadline (its signal
 * aborted with TIMEOUT) fails with whatever its own code makes of the abort (`sleep()`'s
 * ABORTED, fetch's AbortError, …): the caller is told TIMEOUT, as its deadline is what passed.
 */
function handlerFailed(id: string, ctx: HandlerContext, err: unknown): IpcMessage {
  const reason = ctx instanceof LazyAbortController ? ctx.abortReason : undefined;
  return errorResponse(id, IpcError.is(reason, 'TIMEOUT') ? reason : err);
}

/**
 * An AbortController made only when a handler reads its signal: creating an AbortSignal costs
 * more than the rest of a small request's dispatch, and most handlers never look at it.
 */
export class LazyAbortController implements AbortController {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  /** Why it was aborted (undefined while not), without making the signal. */
  get abortReason(): unknown {
    return this.abortedWith?.reason;
  }

  abort(reason?: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

/**
 * The context of one request on a duplex link, and its lazy abort controller in the same
 * object: one allocation per request instead of a controller, a context and their closures.
 */
class RequestContext extends LazyAbortController implements HandlerContext {
  /** How long the handler may run, in ms (handler-deadline.ts); 0: no deadline. */
  timeoutMs = 0;
  /**
   * performance.now() at which the handler must stop; 0 until fixed. Fixed when first needed
   * (the handler returned a promise, or read `deadline`): a handler that answers synchronously
   * reads no clock.
   */
  expiresAt = 0;
  armed = false;
  /** The server's maxMessageSize when the caller asked for progress; 0: it did not. */
  progressLimit = 0;

  constructor(
    readonly id: string,
    readonly method: string,
    readonly connection: ServerConnection | undefined,
  ) {
    super();
  }

  get deadline(): number | undefined {
    return this.timeoutMs === 0 ? undefined : performance.timeOrigin + this.fixExpiry();
  }

  /** The performance.now() deadline, fixed at the first call (the request arrived this tick). */
  fixExpiry(): number {
    if (this.expiresAt === 0) this.expiresAt = performance.now() + this.timeoutMs;
    return this.expiresAt;
  }

  progress(value: unknown): void {
    if (this.progressLimit > 0 && this.connection)
      sendProgress(this.connection, this.id, value, this.progressLimit);
  }

  running(): boolean {
    const conn = this.connection;
    return conn !== undefined && conn.activeCount > 0 && conn.active.get(this.id) === this;
  }
}

/**
 * The context of a request that came through a request/reply channel, or of a notification.
 * A class, so that the lazy `signal` getter sits on the prototype: an object literal with a
 * getter is built by a runtime call per request (6 % of an RPC-over-nng server's JS thread in a
 * profile). The signal is made only if the handler reads it.
 */
class DetachedContext implements HandlerContext {
  private made: AbortSignal | undefined;

  constructor(
    readonly id: string,
    readonly method: string,
    readonly connection: ServerConnection | undefined,
    /** The notification's controller, or the server's closing controller. */
    private readonly abort: { readonly signal: AbortSignal },
    /** The channel's responder, whose own signal (if any) aborts the handler too. */
    private readonly reply?: Responder,
    /** The maxHandlerTime deadline, in Date.now() milliseconds, when the server has one. */
    private readonly capDeadline?: number,
  ) {}

  get signal(): AbortSignal {
    if (!this.made) {
      const own = this.reply?.signal;
      this.made = own ? AbortSignal.any([own, this.abort.signal]) : this.abort.signal;
    }
    return this.made;
  }

  /** Request/reply dialects carry no deadline of the caller's: only maxHandlerTime's. */
  get deadline(): number | undefined {
    return this.capDeadline;
  }

  /** Request/reply channels have one reply per request: progress goes nowhere. */
  progress(_value: unknown): void {}
}

/**
 * One client as the server sees it (duplex links only). Its collections are made on first use:
 * a server holding many idle connections keeps no empty Maps and Sets for them.
 */
export class ServerConnection {
  readonly id = nextConnectionId++;
  closed = false;
  private _topics: Set<string> | undefined;
  private _data: Map<string, unknown> | undefined;
  private _active: IdTable<AbortController> | undefined;
  private _notifying: Set<{ abort(reason?: unknown): void }> | undefined;

  constructor(
    readonly link: Link,
    /** This link's dialect instance (see Dialect.forLink). */
    readonly dialect: Dialect,
  ) {}

  /** Topics this client subscribed to. */
  get topics(): Set<string> {
    return (this._topics ??= new Set());
  }

  /** Free slot for the application and guards (e.g. the authenticated identity). */
  get data(): Map<string, unknown> {
    return (this._data ??= new Map());
  }

  /** Handlers running for this connection, by request id. */
  get active(): IdTable<AbortController> {
    return (this._active ??= new IdTable());
  }

  /** Handlers running for notifications (no reply), counted against maxConcurrent too. */
  get notifying(): Set<{ abort(reason?: unknown): void }> {
    return (this._notifying ??= new Set());
  }

  /** Whether this client subscribed to `topic` (without making the set). */
  hasTopic(topic: string): boolean {
    return this._topics?.has(topic) ?? false;
  }

  /** Requests running (`active.size`, without making the map). */
  get activeCount(): number {
    return this._active?.size ?? 0;
  }

  /** Handlers running for requests and notifications. */
  get running(): number {
    return (this._active?.size ?? 0) + (this._notifying?.size ?? 0);
  }

  /** Aborts every running handler with `reason` and forgets them (the link is gone). */
  abortAll(reason: unknown): void {
    const active = this._active;
    const notifying = this._notifying;
    this._active = undefined;
    this._notifying = undefined;
    if (active) for (const ac of active.values()) ac.abort(reason);
    if (notifying) for (const ac of notifying) ac.abort(reason);
  }

  /** Sends an event to this client. Resolves when the link has taken it (backpressure). */
  emit(eventType: string, data: unknown = {}): void | Promise<void> {
    if (this.closed) throw closedError('connection');
    return this.link.send(this.dialect.encode(event(eventType, data)));
  }

  /** Closes this client's link. */
  close(error?: IpcError): void {
    this.link.close(error);
  }
}

/** Observes a client's notification (`client.notify`). */
export type NotificationListener<D = any> = (
  data: D,
  ctx: { connection: ServerConnection | undefined; eventType: string },
) => void;

export class RpcServer<C extends Contract = AnyContract> {
  /**
   * What the server attaches to each link: an object of two fields per connection, instead of
   * two closures, their context and an object literal. Inside the class, to reach its private
   * dispatch.
   */
  private static readonly ConnectionHandler = class implements LinkHandler {
    constructor(
      private readonly server: RpcServer,
      private readonly conn: ServerConnection,
    ) {}

    onFrame(frame: Frame): void {
      this.server.onFrame(this.conn, frame);
    }

    onClose(error?: IpcError): void {
      this.server.onConnectionClose(this.conn, error);
    }
  };

  private readonly handlers = new Map<string, Handler>();
  private readonly eventListeners = new Map<string, Set<NotificationListener>>();
  private readonly guards: Guard[] = [];
  private readonly listeners = new Set<LinkListener | ReplyListener>();
  private readonly _connections = new Set<ServerConnection>();
  /** The dialect the server (or client) was made with. */
  readonly dialect: Dialect;
  private readonly maxMessageSize: number;
  private readonly maxConcurrent: number;
  private readonly maxConnections: number;
  private readonly maxHandlerTime: number;
  /** Deadlines of running handlers (made at the first one). */
  private handlerDeadlines: HandlerDeadlines | undefined;
  private streamHost: StreamHost | undefined;
  private readonly closing = new AbortController();
  private closed = false;
  /** Requests running for request/reply listeners (no connection to count them on). */
  private channelActive = 0;
  private readonly interceptors: ServerInterceptor[] = [];
  /** What stats() reports. */
  private readonly counters = new RequestCounters();
  private connectionsTotal = 0;
  /** The transport of the request/reply listener served, for the server.request trace. */
  private replyTransport: string | undefined;
  /** The size of the frame being dispatched, for the server.request trace. */
  private lastFrameSize = 0;

  constructor(private readonly options: RpcServerOptions<C>) {
    this.dialect = options.dialect;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize;
    this.maxConcurrent = options.maxConcurrent ?? DEFAULT_LIMITS.maxConcurrent;
    this.maxConnections = options.maxConnections ?? DEFAULT_LIMITS.maxConnections;
    this.maxHandlerTime = options.maxHandlerTime ?? DEFAULT_LIMITS.maxHandlerTime;
    for (const [method, handler] of Object.entries(options.handlers ?? {}))
      if (handler) this.handlers.set(method, handler as Handler);
    if (options.interceptors) this.interceptors.push(...options.interceptors);
  }

  /**
   * The address of the first listener served, as the listener reports it (with the real port
   * when it was bound to port 0); undefined before serve().
   */
  get address(): string | undefined {
    for (const listener of this.listeners) return listener.address;
    return undefined;
  }

  /** The clients connected over duplex links. */
  get connections(): ReadonlySet<ServerConnection> {
    return this._connections;
  }

  /** Registers the handler of `method` (replacing any earlier one). */
  handle<M extends MethodName<C>>(method: M, handler: Handler<ParamsOf<C, M>, ResultOf<C, M>>): this {
    this.handlers.set(method, handler as Handler);
    return this;
  }

  /** Adds a guard run before every handler (see {@link Guard}). */
  use(guard: Guard): this {
    this.guards.push(guard);
    return this;
  }

  /**
   * Adds an interceptor run around every request (see {@link ServerInterceptor}); the first added
   * is the outermost.
   */
  intercept(interceptor: ServerInterceptor): this {
    this.interceptors.push(interceptor);
    return this;
  }

  /** A snapshot of the server's counters (see {@link ServerStats}). */
  stats(): ServerStats {
    const c = this.counters;
    return {
      inFlight: c.total - c.settled,
      total: c.total,
      errors: c.errorCounts(),
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      connections: this._connections.size,
      connectionsTotal: this.connectionsTotal,
      latency: c.latency.summary(),
    };
  }

  /** Listens to notifications clients send (`client.notify(method, params)`); returns the unsubscriber. */
  on<M extends MethodName<C>>(method: M, listener: NotificationListener<ParamsOf<C, M>>): () => void {
    const eventType: string = method;
    let set = this.eventListeners.get(eventType);
    if (!set) this.eventListeners.set(eventType, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      // An empty set would hide the handler that runs for notifications of a method.
      if (set.size === 0 && this.eventListeners.get(eventType) === set) this.eventListeners.delete(eventType);
    };
  }

  /** Serves every link or request a listener accepts, until the server closes. */
  serve(listener: LinkListener | ReplyListener): this {
    if (this.closed) throw closedError('server');
    this.listeners.add(listener);
    if ('onLink' in listener) listener.onLink((link) => this.attach(link));
    else {
      this.replyTransport ??= transportOfAddress(listener.address);
      listener.onRequest((frame, reply) => this.onChannelRequest(frame, reply));
    }
    return this;
  }

  /** Serves one link (already accepted). Returns its connection. */
  attach(link: Link): ServerConnection {
    const conn = new ServerConnection(link, dialectForLink(this.dialect));
    if (this.closed || this._connections.size >= this.maxConnections) {
      conn.closed = true;
      debug(
        'server: refused a %s connection: %s',
        link.transport,
        this.closed ? 'closed' : 'at maxConnections',
      );
      link.attach({ onFrame: () => {}, onClose: () => {} });
      link.close(
        this.closed
          ? closedError('server')
          : new IpcError('CAPACITY', `server at capacity (${this.maxConnections} connections)`),
      );
      return conn;
    }
    this._connections.add(conn);
    this.connectionsTotal++;
    if (channels.serverConnectionOpen.hasSubscribers)
      channels.serverConnectionOpen.publish({
        server: this,
        connection: conn,
        transport: link.transport,
        peer: link.remoteAddress,
      });
    link.attach(new RpcServer.ConnectionHandler(this as RpcServer, conn));
    return conn;
  }

  /** The link of `conn` has closed. */
  private onConnectionClose(conn: ServerConnection, error: IpcError | undefined): void {
    conn.closed = true;
    this._connections.delete(conn);
    if (channels.serverConnectionClose.hasSubscribers)
      channels.serverConnectionClose.publish({ server: this, connection: conn, error });
    if (conn.running > 0) conn.abortAll(closedError('connection'));
  }

  /** Sends the event `eventType` (typed by the contract's events) to every connected client. */
  emit<E extends EventName<C>>(eventType: E, data?: EventDataOf<C, E>): void {
    this.broadcast(eventType, data === undefined ? {} : data, () => true);
  }

  /**
   * Sends an event named `topic` (typed by the contract's events) to the clients subscribed to it
   * (client.subscribe).
   */
  publish<E extends EventName<C>>(topic: E, data?: EventDataOf<C, E>): void {
    this.broadcast(topic, data === undefined ? {} : data, (c) => c.hasTopic(topic));
  }

  /** Stops every listener, closes every connection, aborts running handlers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(closedError('server'));
    this.handlerDeadlines?.clear();
    for (const conn of [...this._connections]) conn.close();
    await Promise.all([...this.listeners].map((l) => l.close()));
    this.listeners.clear();
  }

  // ---- dispatch ----

  private broadcast(eventType: string, data: unknown, include: (c: ServerConnection) => boolean): void {
    // Encoded once for all the connections that share the stateless dialect.
    let shared: Frame | undefined;
    const message = event(eventType, data);
    for (const conn of this._connections) {
      if (!include(conn)) continue;
      try {
        const frame =
          conn.dialect === this.dialect
            ? (shared ??= this.dialect.encode(message))
            : conn.dialect.encode(message);
        const sent = conn.link.send(frame);
        if (sent) sent.catch((err) => this.report(IpcError.from(err), conn));
      } catch (err) {
        this.report(IpcError.from(err), conn);
      }
    }
  }

  private onFrame(conn: ServerConnection, frame: Frame): void {
    const size = frameSize(frame);
    this.counters.bytesIn += size;
    this.lastFrameSize = size;
    let decoded: IpcMessage | IpcMessage[];
    try {
      decoded = conn.dialect.decode(frame);
    } catch (err) {
      const error = IpcError.from(err, 'PROTOCOL');
      debug('server: connection %d: undecodable frame: %s', conn.id, error.message);
      this.report(error, conn);
      const reply = conn.dialect.decodeErrorReply?.(error, frame);
      if (reply === undefined) conn.close(error);
      else this.send(conn, reply);
      return;
    }
    if (!Array.isArray(decoded)) {
      this.onMessage(conn, decoded);
      return;
    }
    // A batch: one frame of replies once every request of it has been answered.
    const replies: IpcMessage[] = [];
    let waiting = decoded.filter((m) => m.payload.type === 'request').length;
    if (waiting === 0) {
      for (const m of decoded) this.onMessage(conn, m, () => {});
      return;
    }
    for (const m of decoded) {
      this.onMessage(conn, m, (reply) => {
        replies.push(reply);
        if (--waiting === 0) return this.sendBatch(conn, replies);
      });
    }
  }

  /**
   * Sends the replies to one batch as one frame. A reply that cannot be encoded is replaced by
   * its SERIALIZATION error; a batch over maxMessageSize answers each request MESSAGE_TOO_LARGE.
   */
  private sendBatch(conn: ServerConnection, replies: IpcMessage[]): void | Promise<void> {
    const { dialect } = conn;
    if (!dialect.encodeBatch) {
      for (const r of replies) this.sendMessage(conn, r);
      return;
    }
    let out: Frame;
    try {
      out = dialect.encodeBatch(replies);
    } catch {
      // Find the replies at fault, so that the others still get their results.
      const safe = replies.map((r) => {
        try {
          dialect.encode(r);
          return r;
        } catch (err) {
          return errorResponse(r.id, IpcError.from(err, 'SERIALIZATION'));
        }
      });
      out = dialect.encodeBatch(safe);
    }
    if (frameOver(out, this.maxMessageSize)) {
      const e = new IpcError(
        'MESSAGE_TOO_LARGE',
        `batch reply is over the limit of ${this.maxMessageSize} bytes`,
      );
      out = dialect.encodeBatch(replies.map((r) => errorResponse(r.id, e)));
    }
    return this.send(conn, out);
  }

  /** Handles one message; replies go through `reply` (a batch's collector) or straight out. */
  private onMessage(
    conn: ServerConnection,
    msg: IpcMessage,
    reply?: (m: IpcMessage) => void | Promise<void>,
  ): void {
    const p = msg.payload;
    if (p.type === 'request') {
      if (conn.activeCount >= this.maxConcurrent) {
        debug('server: connection %d: %s refused, %d requests running', conn.id, p.method, conn.activeCount);
        this.counters.refused('CAPACITY');
        const busy = failure(msg.id, `too many requests in flight (max ${this.maxConcurrent})`, {
          code: 'CAPACITY',
        });
        if (reply) reply(busy);
        else this.sendMessage(conn, busy);
        return;
      }
      const ctx = new RequestContext(msg.id, p.method, conn);
      if (p.timeoutMs !== undefined || p.progress || p.stream !== undefined || this.maxHandlerTime > 0) {
        if (this.prepare(conn, msg as RequestMessage, ctx, reply)) return;
      }
      const out = this.dispatch(msg as RequestMessage, ctx);
      if (out instanceof Promise) {
        // Registered once the handler has returned: nothing can cancel it before. The slot is held
        // until the reply has drained, so a client that does not read its replies stops getting
        // requests served instead of growing the server's queue.
        this.hold(conn, ctx);
        void out
          .then((r) => (conn.closed ? undefined : reply ? reply(r) : this.sendMessage(conn, r)))
          .catch((err) => this.report(IpcError.from(err, 'SERIALIZATION'), conn))
          .then(() => this.release(conn, ctx));
        return;
      }
      // A handler that answered synchronously is replied to in the same tick, without promises,
      // and takes a slot only while its reply waits for the link to drain.
      let sent: void | Promise<void>;
      try {
        sent = conn.closed ? undefined : reply ? reply(out) : this.sendMessage(conn, out);
      } catch (err) {
        sent = undefined;
        this.report(IpcError.from(err, 'SERIALIZATION'), conn);
      }
      if (sent) {
        this.hold(conn, ctx);
        void sent
          .catch((err) => this.report(IpcError.from(err, 'SERIALIZATION'), conn))
          .then(() => this.release(conn, ctx));
      }
      return;
    }
    if (p.type === 'event') {
      if (p.event_type === CANCEL_EVENT) {
        const { id, reason } = (p.data ?? {}) as { id?: unknown; reason?: unknown };
        if (typeof id === 'string' && conn.activeCount > 0)
          conn.active
            .get(id)
            ?.abort(
              reason === 'TIMEOUT'
                ? new IpcError('TIMEOUT', 'the caller timed out')
                : new IpcError('ABORTED', 'cancelled by the caller'),
            );
        return;
      }
      if (p.event_type === STREAM_CREDIT_EVENT) {
        grantCredit(conn, p.data);
        return;
      }
      this.onEvent(p.event_type, p.data, conn);
      return;
    }
    this.report(new IpcError('PROTOCOL', `client sent a response (${msg.id}) nobody asked for`), conn);
  }

  /**
   * Reads a request's deadline, progress and stream fields into its context; true when the
   * request asked for a streamed result (then the stream pump serves it: stream-server.ts).
   */
  private prepare(
    conn: ServerConnection,
    msg: RequestMessage,
    ctx: RequestContext,
    batchReply: ((m: IpcMessage) => void | Promise<void>) | undefined,
  ): boolean {
    const p = msg.payload;
    const budget = handlerBudget(p.timeoutMs, this.maxHandlerTime);
    // A budget of 0 ms (a peer's `timeoutMs: 0`) is already over: 1 ms, so that 0 keeps meaning none.
    if (budget !== Number.POSITIVE_INFINITY) ctx.timeoutMs = Math.max(budget, 1);
    if (p.progress) ctx.progressLimit = this.maxMessageSize;
    if (p.stream === undefined) return false;
    if (batchReply) {
      // A batch is answered by one frame: no room for the items of a stream.
      batchReply(
        errorResponse(msg.id, new IpcError('UNSUPPORTED', 'a streamed result cannot be part of a batch')),
      );
      return true;
    }
    this.streamHost ??= {
      dispatch: (m, c) => this.dispatch(m, c),
      hold: (cn, c) => this.hold(cn, c as RequestContext),
      release: (cn, c) => this.release(cn, c as RequestContext),
      sendMessage: (cn, m) => this.sendMessage(cn, m),
      errorResponse,
      report: (e, cn) => this.report(e, cn),
      maxMessageSize: this.maxMessageSize,
    };
    serveStream(this.streamHost, conn, msg, ctx);
    return true;
  }

  /** Counts a running request against maxConcurrent and makes it cancellable. */
  private hold(conn: ServerConnection, ctx: RequestContext): void {
    // The handler may have closed its own connection before returning.
    if (conn.closed) ctx.abort(closedError('connection'));
    else {
      conn.active.set(ctx.id, ctx);
      if (ctx.timeoutMs !== 0) {
        ctx.fixExpiry();
        (this.handlerDeadlines ??= new HandlerDeadlines()).arm(ctx);
      }
    }
  }

  private release(conn: ServerConnection, ctx: RequestContext): void {
    if (conn.activeCount > 0 && conn.active.get(ctx.id) === ctx) conn.active.delete(ctx.id);
    if (ctx.armed) this.handlerDeadlines!.done(ctx);
  }

  private onChannelRequest(frame: Frame, reply: Responder): void {
    const dialect = this.dialect;
    const counters = this.counters;
    const size = frameSize(frame);
    counters.bytesIn += size;
    this.lastFrameSize = size;
    const respond = (m: IpcMessage) => {
      const out = this.encodeReply(dialect, m);
      counters.bytesOut += frameSize(out);
      reply(out);
    };
    let decoded: IpcMessage | IpcMessage[];
    try {
      decoded = dialect.decode(frame);
    } catch (err) {
      // A request/reply peer waits for an answer whatever it sent: answer with the error.
      const error = IpcError.from(err, 'PROTOCOL');
      debug('server: undecodable request: %s', error.message);
      this.report(error);
      const out = dialect.decodeErrorReply?.(error, frame);
      reply(out ?? this.encodeReply(dialect, failure('', error.message, { code: error.code })));
      return;
    }
    const msg = Array.isArray(decoded) ? decoded[0] : decoded;
    if (msg?.payload.type !== 'request') {
      if (msg?.payload.type === 'event') this.onEvent(msg.payload.event_type, msg.payload.data, undefined);
      respond(success(msg?.id ?? '', null));
      return;
    }
    if (this.channelActive >= this.maxConcurrent) {
      debug('server: %s refused, %d requests running', msg.payload.method, this.channelActive);
      this.counters.refused('CAPACITY');
      respond(
        failure(msg.id, `too many requests in flight (max ${this.maxConcurrent})`, { code: 'CAPACITY' }),
      );
      return;
    }
    this.channelActive++;
    const finish = (r: IpcMessage) => {
      this.channelActive--;
      try {
        respond(r);
      } catch (err) {
        this.report(IpcError.from(err, 'SERIALIZATION'));
      }
    };
    // The handler's signal is made only if the handler reads it: AbortSignal.any per request
    // was a measurable share of a small request's cost.
    const req = msg as RequestMessage;
    const cap =
      this.maxHandlerTime > 0
        ? new ChannelHandlerCap(this.closing.signal, this.maxHandlerTime, req.payload.method)
        : undefined;
    const ctx = new DetachedContext(
      req.id,
      req.payload.method,
      undefined,
      cap ?? this.closing,
      reply,
      cap?.deadline,
    );
    const out = this.dispatch(req, ctx);
    if (cap) {
      if (out instanceof Promise) void out.then(() => cap.done());
      else cap.done();
    }
    if (out instanceof Promise) void out.then(finish);
    else finish(out);
  }

  private onEvent(eventType: string, data: unknown, connection: ServerConnection | undefined): void {
    const set = this.eventListeners.get(eventType);
    if (set) {
      for (const listener of [...set]) {
        try {
          listener(data, { connection, eventType });
        } catch (err) {
          this.report(IpcError.from(err), connection);
        }
      }
      return;
    }
    // A notification for a method: run its handler and drop the result.
    if (this.handlers.has(eventType)) this.runNotification(eventType, data, connection);
  }

  /**
   * Runs the handler of a notified method and drops its result. Bounded by maxConcurrent like
   * requests (over it the notification is dropped and reported), aborted when its link closes;
   * a failure is reported, since no caller will see it.
   */
  private runNotification(method: string, data: unknown, conn: ServerConnection | undefined): void {
    const running = conn ? conn.running : this.channelActive;
    if (running >= this.maxConcurrent) {
      this.report(
        new IpcError('CAPACITY', `notification ${method} dropped: ${this.maxConcurrent} handlers running`),
        conn,
      );
      return;
    }
    const ac = new LazyAbortController();
    if (conn) conn.notifying.add(ac);
    else this.channelActive++;
    const msg: RequestMessage = { id: '', payload: { type: 'request', method, params: data } };
    void this.run(msg, new DetachedContext(msg.id, method, conn, conn ? ac : this.closing)).then((r) => {
      if (conn) conn.notifying.delete(ac);
      else this.channelActive--;
      const p = r.payload;
      if (p.type === 'response' && !p.success) {
        const details = { code: p.code, details: p.details };
        this.report(new IpcError('REMOTE', `notification ${method} failed: ${p.error}`, { details }), conn);
      }
    });
  }

  /**
   * Runs one request to its response, counted in stats(), traced when the server.request channel
   * has subscribers, and inside the interceptors if any; dispatchNow() does the work.
   */
  private dispatch(msg: RequestMessage, ctx: HandlerContext): IpcMessage | Promise<IpcMessage> {
    const counters = this.counters;
    const start = performance.now();
    counters.total++;
    const out = channels.serverRequest.hasSubscribers
      ? this.dispatchTraced(msg, ctx)
      : this.interceptors.length > 0
        ? this.dispatchInterceptable(msg, ctx)
        : this.dispatchNow(msg, ctx);
    if (out instanceof Promise) return out.then((r) => counters.replied(r, start));
    return counters.replied(out, start);
  }

  private dispatchTraced(msg: RequestMessage, ctx: HandlerContext): IpcMessage | Promise<IpcMessage> {
    const conn = ctx.connection;
    const context: ServerRequestTrace = {
      server: this,
      method: msg.payload.method,
      id: msg.id,
      params: msg.payload.params,
      connection: conn,
      transport: conn ? conn.link.transport : this.replyTransport,
      peer: conn?.link.remoteAddress,
      requestSize: this.lastFrameSize,
    };
    return traceServed(context, () => this.dispatchInterceptable(msg, ctx));
  }

  private dispatchInterceptable(msg: RequestMessage, ctx: HandlerContext): IpcMessage | Promise<IpcMessage> {
    if (this.interceptors.length === 0) return this.dispatchNow(msg, ctx);
    return interceptServed(this.interceptors, msg, ctx, () => this.dispatchNow(msg, ctx), errorResponse);
  }

  /**
   * Runs one request to its response: synchronously when nothing needs waiting for (no params
   * schema, no guards, a handler that returns a plain value), otherwise through run(). Never
   * rejects; `ctx.signal` is read lazily.
   */
  private dispatchNow(msg: RequestMessage, ctx: HandlerContext): IpcMessage | Promise<IpcMessage> {
    const { method } = msg.payload;
    const handler = this.handlers.get(method);
    if (!handler || this.guards.length > 0 || this.options.contract?.methods[method]?.params) {
      return this.run(msg, ctx);
    }
    let result: unknown;
    try {
      result = handler(msg.payload.params, ctx);
    } catch (err) {
      return errorResponse(msg.id, err);
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      return Promise.resolve(result).then(
        (value) => success(msg.id, value === undefined ? null : value),
        (err) => handlerFailed(msg.id, ctx, err),
      );
    }
    return success(msg.id, result === undefined ? null : result);
  }

  private async run(msg: RequestMessage, ctx: HandlerContext): Promise<IpcMessage> {
    const { method } = msg.payload;
    const conn = ctx.connection;
    let params = msg.payload.params;
    try {
      const schema = this.options.contract?.methods[method]?.params;
      if (schema) params = await validate(schema, params, `params of ${method}`);
      // Guards run before the subscription requests and the method lookup too, so that an
      // unauthenticated peer can neither subscribe to topics nor probe which methods exist.
      for (const guard of this.guards) await guard(method, params, ctx);
      if (method === SUBSCRIBE_METHOD || method === UNSUBSCRIBE_METHOD) {
        return success(msg.id, this.subscription(method, params, conn));
      }
      const handler = this.handlers.get(method);
      if (!handler) return failure(msg.id, `Unknown method: ${method}`, { code: 'METHOD_NOT_FOUND' });
      const result = await handler(params, ctx);
      return success(msg.id, result === undefined ? null : result);
    } catch (err) {
      return handlerFailed(msg.id, ctx, err);
    }
  }

  private subscription(method: string, params: unknown, conn: ServerConnection | undefined): unknown {
    const topic = (params as { topic?: unknown } | null)?.topic;
    if (typeof topic !== 'string') throw new IpcError('PROTOCOL', '`topic` must be a string');
    if (!conn) throw new IpcError('UNAVAILABLE', 'subscriptions need a duplex transport');
    if (method === SUBSCRIBE_METHOD) conn.topics.add(topic);
    else conn.topics.delete(topic);
    return { subscribed: method === SUBSCRIBE_METHOD, topic };
  }

  private encodeReply(dialect: Dialect, reply: IpcMessage): Frame {
    reply = refuseUnaskedStream(reply, errorResponse);
    let frame: Frame;
    try {
      frame = dialect.encode(reply);
    } catch (err) {
      frame = dialect.encode(errorResponse(reply.id, IpcError.from(err, 'SERIALIZATION')));
    }
    if (frameOver(frame, this.maxMessageSize)) {
      const e = new IpcError('MESSAGE_TOO_LARGE', `reply is over the limit of ${this.maxMessageSize} bytes`);
      frame = dialect.encode(errorResponse(reply.id, e));
    }
    return frame;
  }

  private sendMessage(conn: ServerConnection, reply: IpcMessage): void | Promise<void> {
    return this.send(conn, this.encodeReply(conn.dialect, reply));
  }

  /** Sends a frame; the promise (if any) settles when the link has drained, never rejects. */
  private send(conn: ServerConnection, frame: Frame): void | Promise<void> {
    if (conn.closed) return;
    this.counters.bytesOut += frameSize(frame);
    try {
      const sent = conn.link.send(frame);
      if (sent) return sent.catch((err) => this.report(IpcError.from(err), conn));
    } catch (err) {
      this.report(IpcError.from(err), conn);
    }
  }

  private report(error: IpcError, conn?: ServerConnection): void {
    this.options.onError?.(error, conn);
  }
}

/** The response that reports `err`; the code of an IpcError crosses the wire where it can. */
export function errorResponse(id: string, err: unknown): IpcMessage {
  if (err instanceof RemoteError) {
    return failure(id, err.message, {
      code: err.remoteCode ?? err.code,
      details: err.details,
      retryable: err.retryable,
      retryAfterMs: err.retryAfterMs,
    });
  }
  if (err instanceof IpcError) return failure(id, err.message, { code: err.code, details: err.details });
  const message = err instanceof Error ? err.message : String(err);
  return failure(id, message, { code: 'INTERNAL' });
}

/** A transport's name from a listener's address: `nng+ipc:///x` → `nng`. */
function transportOfAddress(address: string): string | undefined {
  const scheme = /^([a-z][a-z0-9.-]*)[+:]/i.exec(address)?.[1];
  return scheme?.toLowerCase();
}
