/**
 * Failover across several addresses: one client, an ordered list of routes (a URL, its dialect
 * and its connector; any mix of transports), connected to the first that answers. After a loss
 * the client's reconnect loop dials through the list again, in order. While it is on a later
 * route, a probe every `probeInterval` ms dials the earlier ones; when one answers, the client
 * stops sending on the current connection, waits until nothing it sent there is unanswered, and
 * moves to the earlier one: between requests, never in the middle of one, and without sending
 * anything twice (requests made meanwhile wait and go out once, on the new connection).
 *
 * Lifecycle of the router, driven by the RpcClient that owns it:
 *
 *   dial()      → the standby connection if a probe left one, else each route in order
 *   opened(i)   → on route 0: no probe; on a later one: probe() every probeInterval
 *   probe()     → dial routes 0..i-1; the first that answers becomes the standby, `holding` on
 *   settled()   → (while holding) when nothing sent is pending: replace(standby)
 *   close()     → the timer stops, a standby is discarded
 */
import type { Dialect } from './dialect.js';
import { IpcError } from './errors.js';
import { debug } from './observability.js';
import type { RpcClient, RpcClientOptions } from './rpc-client.js';
import type { ChannelConnector, LinkConnector } from './transport.js';

/** One place a failover client may connect to. */
export interface ClientRoute {
  /** The address, for `client.url`, the state events and messages. */
  readonly url: string;
  readonly dialect: Dialect;
  /** Exactly one of `link` and `channel`, as in RpcClientOptions. */
  readonly link?: LinkConnector;
  readonly channel?: ChannelConnector;
}

/** Default of `probeInterval`: how often a client on a fallback route tries the earlier ones, in ms. */
export const DEFAULT_PROBE_INTERVAL = 5_000;

/**
 * Marks the options of a transport's connect() so that the client it makes is never started:
 * the failover connect() takes the route (dialect, connector, limits) out of it and dials
 * nothing.
 */
export const ROUTE_ONLY: unique symbol = Symbol('openclaw-ipc.routeOnly');

/**
 * Set by openclaw-ipc's connect(url) on the options it hands a transport (which pass them on to
 * the RpcClient they make, as symbol keys survive a spread and are not option names): the URL
 * `client.url` reports.
 */
export const CLIENT_URL: unique symbol = Symbol('openclaw-ipc.clientUrl');

/** What the router asks of its client. */
export interface RouterHooks<T> {
  /** Dials one route. */
  dial(route: ClientRoute, index: number, signal: AbortSignal): Promise<T>;
  /** Closes a connection not used. */
  discard(conn: T): void;
  /** Whether a request sent on the current connection still waits for its reply. */
  busy(): boolean;
  /** Whether the client is open on a connection (not reconnecting, not closed). */
  open(): boolean;
  /** Moves the client to `conn` (the current connection is closed). */
  replace(conn: T): void;
  /** Aborted when the client closes. */
  readonly signal: AbortSignal;
}

export class FailoverRouter<T> {
  /** The route of the current (or last) connection; -1 before the first. */
  index = -1;
  /** While true, the client sends nothing new on the current connection (a switch is due). */
  holding = false;
  private standby: { conn: T; index: number } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private probing = false;
  private readonly probeInterval: number;

  /** @throws IpcError INVALID_ARGUMENT without routes or with a negative probeInterval. */
  constructor(
    readonly routes: readonly ClientRoute[],
    probeInterval: number | undefined,
    private readonly hooks: RouterHooks<T>,
  ) {
    if (routes.length === 0) throw new IpcError('INVALID_ARGUMENT', 'failover needs at least one URL');
    this.probeInterval = probeInterval ?? DEFAULT_PROBE_INTERVAL;
    if (!(this.probeInterval >= 0))
      throw new IpcError('INVALID_ARGUMENT', 'probeInterval must be >= 0 (0: never go back)', {
        details: { probeInterval },
      });
  }

  /** The URL of the current (or last) route. */
  get url(): string | undefined {
    return this.routes[this.index]?.url;
  }

  /**
   * The next connection: the standby a probe found, else the first route that answers.
   * Rejects CONNECT naming every route's failure.
   */
  async dial(signal: AbortSignal): Promise<{ conn: T; index: number }> {
    const ready = this.standby;
    if (ready) {
      this.standby = undefined;
      this.index = ready.index;
      return ready;
    }
    const failures: Array<{ url: string; code: string; message: string }> = [];
    for (let i = 0; i < this.routes.length; i++) {
      const route = this.routes[i]!;
      try {
        const conn = await this.hooks.dial(route, i, signal);
        this.index = i;
        return { conn, index: i };
      } catch (err) {
        const e = IpcError.from(err, 'CONNECT');
        if (signal.aborted) throw e;
        debug('failover: %s did not answer: %s', route.url, e.message);
        failures.push({ url: route.url, code: e.code, message: e.message });
      }
    }
    throw new IpcError(
      'CONNECT',
      `no address answered: ${failures.map((f) => `${f.url} (${f.message})`).join('; ')}`,
      { details: { failures } },
    );
  }

  /** The client is open on route `index`: probe the earlier routes if it is not the first. */
  opened(): void {
    this.holding = false;
    this.stopProbing();
    if (this.index > 0 && this.probeInterval > 0) this.schedule();
  }

  /** A request settled: if a switch waits for the connection to drain, it may happen now. */
  settled(): void {
    if (this.holding && !this.hooks.busy()) this.switchNow();
  }

  /** Stops probing and drops a standby connection (the client closes). */
  close(): void {
    this.stopProbing();
    this.holding = false;
    const ready = this.standby;
    this.standby = undefined;
    if (ready) this.hooks.discard(ready.conn);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.probe(), this.probeInterval);
    this.timer.unref?.();
  }

  private stopProbing(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Dials the routes before the current one; the first that answers is the standby. */
  private async probe(): Promise<void> {
    this.timer = undefined;
    if (this.probing || this.standby || this.hooks.signal.aborted) return;
    this.probing = true;
    const current = this.index;
    try {
      for (let i = 0; i < current; i++) {
        let conn: T;
        try {
          conn = await this.hooks.dial(this.routes[i]!, i, this.hooks.signal);
        } catch {
          continue;
        }
        if (this.hooks.signal.aborted || this.index !== current || this.standby) {
          // Closed, or moved meanwhile (a loss took the reconnect loop elsewhere).
          this.hooks.discard(conn);
          return;
        }
        debug('failover: %s answers again; moving to it from %s once idle', this.routes[i]!.url, this.url);
        this.standby = { conn, index: i };
        if (!this.hooks.open()) return; // reconnecting: the loop's next dial takes the standby
        this.holding = true;
        this.settled();
        return;
      }
    } finally {
      this.probing = false;
      if (this.timer === undefined && !this.standby && this.index > 0 && !this.hooks.signal.aborted)
        this.schedule();
    }
  }

  private switchNow(): void {
    const ready = this.standby;
    this.holding = false;
    if (!ready) return;
    this.standby = undefined;
    this.index = ready.index;
    this.hooks.replace(ready.conn);
  }
}

/** The parts of a never-started client (made with ROUTE_ONLY) that a failover client takes. */
export interface RouteOfClient extends ClientRoute {
  /** The limits the transport chose for that client (its own defaults, or the caller's). */
  readonly maxMessageSize: number | undefined;
  readonly maxInFlight: number | undefined;
}

/**
 * The route of a client a transport's connect() made with {@link ROUTE_ONLY}: its dialect, its
 * connector and its limits.
 * @throws IpcError INVALID_ARGUMENT when the client was not made that way.
 */
export function routeOf(client: RpcClient<any>, url: string): RouteOfClient {
  const options = (client as unknown as { options: RpcClientOptions & { [ROUTE_ONLY]?: boolean } }).options;
  if (!options?.[ROUTE_ONLY])
    throw new IpcError('INVALID_ARGUMENT', `the transport of ${url} made a client without its route`);
  return {
    url,
    dialect: options.dialect,
    link: options.link,
    channel: options.channel,
    maxMessageSize: options.maxMessageSize,
    maxInFlight: options.maxInFlight,
  };
}
