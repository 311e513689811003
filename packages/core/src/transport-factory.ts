/**
 * How a transport package plugs into `connect(url)` / `listen(url)` of the umbrella package.
 */
import type { AnyContract, Contract } from './contract.js';
import type { Dialect } from './dialect.js';
import type { FileAccessOptions, SocketAccessOptions } from './endpoint-access.js';
import type { RpcClient, RpcClientOptions } from './rpc-client.js';
import type { Handler, RpcServer, RpcServerOptions } from './rpc-server.js';

/**
 * Options of `connect(url, options)`: the client's options, the dialect by name or value.
 * `fileMode` and `sharedFolder` apply to file channels (the frontend creates files too).
 */
export interface ConnectOptions<C extends Contract = AnyContract>
  extends Omit<Partial<RpcClientOptions<C>>, 'dialect' | 'link' | 'channel'>,
    FileAccessOptions {
  /** A dialect name the transport knows (`--dialect`), or a Dialect. */
  dialect?: string | Dialect;
  /** Milliseconds to wait for the first connection. Default 10 000. */
  connectTimeout?: number;
  /** Transport-specific options (see each transport's docs). */
  [option: string]: unknown;
}

/**
 * Options of `listen(url, options)`. Who may reach the endpoint (docs/security.md):
 * `socketMode` (unix, nng+ipc, rdma+shm/cma), `fileMode` (file), `sharedFolder` (all of these),
 * `allowedOrigins` (ws, nng+ws).
 */
export interface ListenOptions<C extends Contract = AnyContract>
  extends Omit<Partial<RpcServerOptions<C>>, 'dialect'>,
    SocketAccessOptions,
    FileAccessOptions {
  dialect?: string | Dialect;
  /**
   * ws and nng+ws: browser origins allowed to connect (besides a ws server's own), exactly as
   * a browser sends them ('https://app.example'), or '*' for any. Default none.
   */
  allowedOrigins?: readonly string[];
  /** Handlers registered before the first request can arrive. */
  handlers?: Record<string, Handler>;
  [option: string]: unknown;
}

export interface TransportFactory {
  /** The transport's name, e.g. 'unix'. */
  readonly name: string;
  /** URL schemes it serves, without the colon, e.g. ['unix']. */
  readonly schemes: readonly string[];
  /** The dialect names it accepts; the first is the default. */
  readonly dialects: readonly string[];
  /** Connects a client to `url`. Rejects with CONNECT, UNAVAILABLE, INVALID_ARGUMENT. */
  connect<C extends Contract = AnyContract>(url: URL, options?: ConnectOptions<C>): Promise<RpcClient<C>>;
  /** Starts a server on `url`. Rejects with INVALID_ARGUMENT, UNAVAILABLE or CONNECT (address in use). */
  listen<C extends Contract = AnyContract>(url: URL, options?: ListenOptions<C>): Promise<RpcServer<C>>;
}
