/**
 * WebSocket transport: a JSON-RPC 2.0 (default) or forge server and client over `ws`, and the
 * OpenClaw gateway client.
 */
import {
  type AnyContract,
  CONNECT_OPTION_NAMES,
  type ConnectOptions,
  type Contract,
  checkOptions,
  IpcError,
  type ListenOptions,
  type OptionNames,
  type RpcClient,
  type RpcServer,
  resolveDialect,
  type TransportFactory,
} from '@openclaw-ipc/core';
import { wsServerOptionNames } from './option-names.js';
import { createWsServer, wsDialects } from './server.js';
import { checkWsUrl, startWsClient } from './ws-client.js';
import { connectWs, type WsConnectOptions } from './ws-connect.js';
import type { WsListenOptions } from './ws-listener.js';

export * from './auth.js';
export * from './dialects/forge.js';
export * from './dialects/jsonrpc.js';
export * from './gateway/index.js';
export * from './heartbeat.js';
export * from './server.js';
export { WS_RECONNECT } from './ws-client.js';
export * from './ws-connect.js';
export * from './ws-link.js';
export * from './ws-listener.js';

/**
 * What `listen('ws://…')` takes besides the server's options: a WsListener's, except the
 * address (from the URL) and the capacity reply (the dialect's).
 */
export type WsUrlListenOptions = Omit<WsListenOptions, 'host' | 'port' | 'path' | 'server' | 'capacityReply'>;

const linkOptionNames = {
  maxMessageSize: true,
  highWaterMark: true,
  maxQueuedBytes: true,
  maxHeldFrames: true,
  fastPath: true,
  coalesce: true,
} as const;
const connectOptionNames: OptionNames<ConnectOptions & WsConnectOptions> = {
  ...CONNECT_OPTION_NAMES,
  ...linkOptionNames,
  connectTimeout: true,
  token: true,
  tokenIn: true,
  protocols: true,
  headers: true,
  heartbeatInterval: true,
  perMessageDeflate: true,
  ca: true,
  cert: true,
  key: true,
  passphrase: true,
  servername: true,
  rejectUnauthorized: true,
};
const {
  host: _h,
  port: _p,
  path: _pa,
  server: _s,
  capacityReply: _c,
  ...urlListenNames
} = wsServerOptionNames;
const listenOptionNames: OptionNames<ListenOptions & WsUrlListenOptions> = urlListenNames;

/** Connects an RpcClient to a WebSocket server (JSON-RPC by default, `dialect: 'forge'`). */
export async function connectWsClient<C extends Contract = AnyContract>(
  url: string | URL,
  options: ConnectOptions<C> & WsConnectOptions = {},
): Promise<RpcClient<C>> {
  return startWsClient<C, WsConnectOptions>(url, options, connectOptionNames, connectWs);
}

/**
 * `ws://host:port/path` and `wss://…`: connect() takes the client's options and
 * {@link WsConnectOptions}, listen() (ws: only; wss needs createWsServer with an https server)
 * the server's and {@link WsUrlListenOptions}.
 */
export const wsTransport: TransportFactory<WsConnectOptions, WsUrlListenOptions> = {
  name: 'ws',
  schemes: ['ws', 'wss'],
  get dialects() {
    return Object.keys(wsDialects);
  },
  optionNames: { connect: Object.keys(connectOptionNames), listen: Object.keys(listenOptionNames) },

  async connect<C extends Contract = AnyContract>(
    url: URL,
    options: ConnectOptions<C> & WsConnectOptions = {},
  ) {
    return connectWsClient<C>(url, options);
  },

  async listen<C extends Contract = AnyContract>(
    url: URL,
    options: ListenOptions<C> & WsUrlListenOptions = {},
  ): Promise<RpcServer<C>> {
    checkOptions(options, listenOptionNames, 'ws listen()');
    checkWsUrl(url);
    if (url.protocol === 'wss:' && (options.cert === undefined || options.key === undefined))
      throw new IpcError('INVALID_ARGUMENT', 'listening on wss: needs `cert` and `key` (PEM text or files)');
    if (url.protocol === 'ws:' && (options.cert !== undefined || options.key !== undefined))
      throw new IpcError('INVALID_ARGUMENT', '`cert` and `key` are for wss: URLs; this one is ws:');
    const dialect = resolveDialect(options.dialect, wsDialects, 'ws');
    const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const path = url.pathname && url.pathname !== '/' ? url.pathname : undefined;
    const { server } = await createWsServer<C>({
      ...options,
      dialect,
      host,
      port: url.port ? Number(url.port) : 0,
      path,
    });
    return server;
  },
};
