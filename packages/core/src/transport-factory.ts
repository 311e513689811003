/**
 * How a transport package plugs into `connect(url)` / `listen(url)` of the umbrella package, and
 * the options every transport's connect() and listen() share. A transport adds its own options
 * as a named type (the factory's type parameters); TypeScript rejects any other, and so does the
 * factory at run time (INVALID_ARGUMENT from checkOptions, listing the known names).
 */
import type { AnyContract, Contract } from './contract.js';
import type { Dialect } from './dialect.js';
import type { OptionNames } from './options.js';
import type { RpcClient, RpcClientOptions } from './rpc-client.js';
import type { RpcServer, RpcServerOptions } from './rpc-server.js';

/**
 * What every transport's `connect(url, options)` takes: the RPC client's options (contract,
 * timeout, maxInFlight, maxMessageSize, reconnect, …) and the dialect by name or value.
 */
export interface ConnectOptions<C extends Contract = AnyContract>
  extends Omit<
    Partial<RpcClientOptions<C>>,
    'dialect' | 'link' | 'channel' | 'routes' | 'probeInterval' | 'url'
  > {
  /** A dialect name the transport knows (`--dialect`), or a Dialect. */
  dialect?: string | Dialect;
}

/**
 * What every transport's `listen(url, options)` takes: the RPC server's options (contract,
 * handlers, maxMessageSize, maxConcurrent, maxConnections, onError) and the dialect.
 */
export interface ListenOptions<C extends Contract = AnyContract>
  extends Omit<Partial<RpcServerOptions<C>>, 'dialect'> {
  /** A dialect name the transport knows (`--dialect`), or a Dialect. */
  dialect?: string | Dialect;
}

/** The names of {@link ConnectOptions}, for a transport's run-time check. */
export const CONNECT_OPTION_NAMES: OptionNames<ConnectOptions> = {
  dialect: true,
  contract: true,
  timeout: true,
  maxInFlight: true,
  maxMessageSize: true,
  reconnect: true,
  retryInitialConnect: true,
  idempotent: true,
  onError: true,
  interceptors: true,
};

/** The names of {@link ListenOptions}, for a transport's run-time check. */
export const LISTEN_OPTION_NAMES: OptionNames<ListenOptions> = {
  dialect: true,
  contract: true,
  handlers: true,
  maxMessageSize: true,
  maxConcurrent: true,
  maxConnections: true,
  maxHandlerTime: true,
  onError: true,
  interceptors: true,
};

/**
 * A transport: `ConnectExtras` and `ListenExtras` are its own options besides the client's and
 * server's (e.g. the unix transport's UnixConnectOptions and UnixListenOptions).
 */
export interface TransportFactory<
  ConnectExtras extends object = object,
  ListenExtras extends object = object,
> {
  /** The transport's name, e.g. 'unix'. */
  readonly name: string;
  /** URL schemes it serves, without the colon, e.g. ['unix']. */
  readonly schemes: readonly string[];
  /** The dialect names it accepts; the first is the default. */
  readonly dialects: readonly string[];
  /** Every option connect() and listen() accept, by name (what a misspelt one is told). */
  readonly optionNames: { readonly connect: readonly string[]; readonly listen: readonly string[] };
  /**
   * Connects a client to `url`. Rejects with CONNECT, UNAVAILABLE, INVALID_ARGUMENT (an unknown
   * option among them).
   */
  connect<C extends Contract = AnyContract>(
    url: URL,
    options?: ConnectOptions<C> & ConnectExtras,
  ): Promise<RpcClient<C>>;
  /**
   * Starts a server on `url`. Rejects with INVALID_ARGUMENT (an unknown option among them),
   * UNAVAILABLE or CONNECT (address in use).
   */
  listen<C extends Contract = AnyContract>(
    url: URL,
    options?: ListenOptions<C> & ListenExtras,
  ): Promise<RpcServer<C>>;
}

/** The options a factory's connect() takes, with contract `C`. */
export type ConnectOptionsOf<F, C extends Contract = AnyContract> =
  F extends TransportFactory<infer X, any> ? ConnectOptions<C> & X : never;

/** The options a factory's listen() takes, with contract `C`. */
export type ListenOptionsOf<F, C extends Contract = AnyContract> =
  F extends TransportFactory<any, infer X> ? ListenOptions<C> & X : never;
