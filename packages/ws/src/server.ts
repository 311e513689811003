/**
 * A ready WebSocket RPC server: the core RpcServer (dispatch, events, topics) on a WsListener,
 * with the dialect's capacity reply, token authentication and forge's session subscriptions.
 */
import {
  type AnyContract,
  type Contract,
  checkOptions,
  DEFAULT_LIMITS,
  type Dialect,
  IpcError,
  RpcServer,
  type RpcServerOptions,
  type ServerConnection,
} from '@openclaw-ipc/core';
import { installTokenAuth } from './auth.js';
import { FORGE_SUBSCRIBE, FORGE_UNSUBSCRIBE, forgeCapacityReply, forgeDialect } from './dialects/forge.js';
import { jsonRpcCapacityReply, jsonRpcDialect } from './dialects/jsonrpc.js';
import { wsServerOptionNames } from './option-names.js';
import { WsListener, type WsListenOptions } from './ws-listener.js';

export { wsDialects } from './ws-dialects.js';

/** The frame a dialect sends to a connection refused for capacity. */
export function capacityReplyFor(dialect: Dialect): string | undefined {
  if (dialect === forgeDialect || dialect.name === 'forge') return forgeCapacityReply();
  if (dialect === jsonRpcDialect || dialect.name === 'jsonrpc') return jsonRpcCapacityReply();
  return undefined;
}

export interface WsServerOptions<C extends Contract = AnyContract>
  extends Omit<Partial<RpcServerOptions<C>>, 'dialect' | 'maxConnections'>,
    WsListenOptions {
  /** The dialect: defaults to JSON-RPC 2.0. */
  dialect?: Dialect;
}

export interface WsServer<C extends Contract = AnyContract> {
  server: RpcServer<C>;
  listener: WsListener;
  /** `ws://host:port/path` */
  address: string;
}

/**
 * Starts an RPC server on a WebSocket listener. Rejects with INVALID_ARGUMENT (an unknown option
 * among them) or UNAVAILABLE.
 */
export async function createWsServer<C extends Contract = AnyContract>(
  options: WsServerOptions<C> = {},
): Promise<WsServer<C>> {
  checkOptions(options, wsServerOptionNames, 'createWsServer()');
  const dialect = options.dialect ?? jsonRpcDialect;
  const maxConnections = options.maxConnections ?? DEFAULT_LIMITS.maxConnections;
  const server = new RpcServer<C>({ ...options, dialect, maxConnections });
  if (options.authToken !== undefined) installTokenAuth(server as unknown as RpcServer, options.authToken);
  if (dialect.name === 'forge') installForgeSessions(server as unknown as RpcServer);
  const listener = await WsListener.listen({
    ...options,
    maxConnections,
    capacityReply: options.capacityReply ?? capacityReplyFor(dialect),
  });
  server.serve(listener);
  return { server, listener, address: listener.address };
}

/** forge's `subscribe{session_id}` / `unsubscribe{session_id}`, over the engine's topics. */
export function installForgeSessions(server: RpcServer): void {
  const sessionOf = (params: unknown): string => {
    const id = (params as { session_id?: unknown } | null)?.session_id;
    if (typeof id !== 'string') throw new IpcError('PROTOCOL', 'session_id must be a string');
    return id;
  };
  server.handle(FORGE_SUBSCRIBE, (params, ctx) => {
    const session = sessionOf(params);
    ctx.connection?.topics.add(session);
    return { subscribed: true, session_id: session };
  });
  server.handle(FORGE_UNSUBSCRIBE, (params, ctx) => {
    const session = sessionOf(params);
    ctx.connection?.topics.delete(session);
    return { subscribed: false, session_id: session };
  });
}

/**
 * Sends the event `eventType` to the connections subscribed to `topic` (a forge session id),
 * as `{"event_type":eventType,"data":data}` in forge. Returns how many were reached.
 */
export function publishEvent(server: RpcServer, topic: string, eventType: string, data: unknown): number {
  let reached = 0;
  for (const conn of server.connections as ReadonlySet<ServerConnection>) {
    if (!conn.hasTopic(topic) || conn.closed) continue;
    try {
      const sent = conn.emit(eventType, data);
      if (sent) sent.catch(() => {});
      reached++;
    } catch {
      // closing: the engine drops the connection
    }
  }
  return reached;
}
