/**
 * WebSocket transport: a JSON-RPC 2.0 (default) or forge server and client over `ws`, and the
 * OpenClaw gateway client.
 */
import {
  type AnyContract,
  type ConnectOptions,
  type Contract,
  IpcError,
  type ListenOptions,
  RpcClient,
  type RpcServer,
  resolveDialect,
  type TransportFactory,
} from '@openclaw-ipc/core';
import { createWsServer, wsDialects } from './server.js';
import { connectWs, type WsConnectOptions } from './ws-connect.js';
import type { WsListenOptions } from './ws-listener.js';

export * from './auth.js';
export * from './dialects/forge.js';
export * from './dialects/jsonrpc.js';
export * from './gateway/index.js';
export * from './heartbeat.js';
export * from './server.js';
export * from './ws-connect.js';
export * from './ws-link.js';
export * from './ws-listener.js';

/** The client's reconnect defaults: 1 s to 30 s, exponential with full jitter. */
export const WS_RECONNECT = { minDelay: 1000, maxDelay: 30_000 } as const;

function checkUrl(url: URL): void {
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new IpcError('INVALID_ARGUMENT', `not a ws: or wss: URL: ${url.href}`);
}

/** Connects an RpcClient to a WebSocket server (JSON-RPC by default, `dialect: 'forge'`). */
export async function connectWsClient<C extends Contract = AnyContract>(
  url: string | URL,
  options: ConnectOptions<C> & WsConnectOptions = {},
): Promise<RpcClient<C>> {
  const target = new URL(String(url));
  checkUrl(target);
  const dialect = resolveDialect(options.dialect, wsDialects, 'ws');
  const client = new RpcClient<C>({
    ...options,
    dialect,
    reconnect: options.reconnect === false ? false : { ...WS_RECONNECT, ...options.reconnect },
    maxMessageSize: options.maxMessageSize ?? options.maxPayload,
    link: (signal) => connectWs(target, options, signal),
  });
  await client.start();
  return client;
}

export const wsTransport: TransportFactory = {
  name: 'ws',
  schemes: ['ws', 'wss'],
  get dialects() {
    return Object.keys(wsDialects);
  },

  async connect<C extends Contract = AnyContract>(url: URL, options: ConnectOptions<C> = {}) {
    return connectWsClient<C>(url, options as ConnectOptions<C> & WsConnectOptions);
  },

  async listen<C extends Contract = AnyContract>(
    url: URL,
    options: ListenOptions<C> = {},
  ): Promise<RpcServer<C>> {
    checkUrl(url);
    if (url.protocol === 'wss:')
      throw new IpcError(
        'INVALID_ARGUMENT',
        'wss: listening needs a TLS server: pass `server` (an https.Server) to createWsServer',
      );
    const dialect = resolveDialect(options.dialect, wsDialects, 'ws');
    const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const path = url.pathname && url.pathname !== '/' ? url.pathname : undefined;
    const { server } = await createWsServer<C>({
      ...(options as ListenOptions<C> & WsListenOptions),
      dialect,
      host,
      port: url.port ? Number(url.port) : 0,
      path,
    });
    for (const [method, handler] of Object.entries(options.handlers ?? {}))
      server.handle(method as never, handler);
    return server;
  },
};
