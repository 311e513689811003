/**
 * Shared-token authentication. The token is compared in constant time (on SHA-256 digests, so
 * the length does not leak either). A client proves it knows the token at the upgrade
 * (`Authorization: Bearer <t>` or the subprotocol `bearer.<base64url(t)>`) or with the
 * `authenticate {token}` request; until then the guard answers every request AUTH, so no
 * handler runs for an unauthenticated connection.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Guard, IpcError, type RpcServer, type ServerConnection } from '@openclaw-ipc/core';
import { WsLink } from './ws-link.js';

/** The method a client calls to authenticate after the upgrade. */
export const AUTHENTICATE_METHOD = 'authenticate';
/** Key of ServerConnection.data set to true once the connection is authenticated. */
export const AUTHENTICATED = 'ws.authenticated';
/** Prefix of the subprotocol that carries a token. */
export const TOKEN_PROTOCOL_PREFIX = 'bearer.';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Whether `candidate` equals `token`, in time independent of where they differ. */
export function tokenMatches(token: string, candidate: unknown): boolean {
  if (typeof candidate !== 'string') return false;
  return timingSafeEqual(digest(token), digest(candidate));
}

/** The subprotocol that carries `token` at the upgrade. */
export const tokenProtocol = (token: string): string =>
  `${TOKEN_PROTOCOL_PREFIX}${Buffer.from(token, 'utf8').toString('base64url')}`;

/** The token offered at the upgrade, if any (header first, then subprotocol). */
export function upgradeToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string' && /^bearer\s+/i.test(header)) return header.replace(/^bearer\s+/i, '');
  const offered = req.headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return undefined;
  for (const p of offered.split(',')) {
    const name = p.trim();
    if (name.startsWith(TOKEN_PROTOCOL_PREFIX))
      return Buffer.from(name.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
  }
  return undefined;
}

function isAuthenticated(conn: ServerConnection | undefined): boolean {
  if (!conn) return false;
  if (conn.data.get(AUTHENTICATED) === true) return true;
  if (conn.link instanceof WsLink && conn.link.authenticated) {
    conn.data.set(AUTHENTICATED, true);
    return true;
  }
  return false;
}

/** The guard that refuses every request but `authenticate` until the connection is authenticated. */
export function authGuard(): Guard {
  return (method, _params, ctx) => {
    if (method === AUTHENTICATE_METHOD || isAuthenticated(ctx.connection)) return;
    throw new IpcError('AUTH', 'Authentication required');
  };
}

/** Installs token authentication on `server`: the guard and the `authenticate` handler. */
export function installTokenAuth(server: RpcServer, token: string): void {
  server.use(authGuard());
  server.handle(AUTHENTICATE_METHOD, (params: unknown, ctx) => {
    const candidate = (params as { token?: unknown } | null)?.token;
    if (!tokenMatches(token, candidate)) throw new IpcError('AUTH', 'Invalid authentication token');
    ctx.connection?.data.set(AUTHENTICATED, true);
    if (ctx.connection?.link instanceof WsLink) ctx.connection.link.markAuthenticated();
    return { authenticated: true };
  });
}
