/**
 * Which browser pages may open a WebSocket to the server. Browsers apply no same-origin rule to
 * WebSockets: any page the user opens may connect to a local server and call its methods
 * (cross-site WebSocket hijacking). What they do is say where the page came from, in the
 * Origin header, which a page cannot change. So at the upgrade:
 *
 * - no Origin (Node, Go, Python and other non-browser clients): accepted;
 * - the server's own origin: accepted. That is the origin the request was addressed to, taken
 *   from its Host header (the browser's same-origin rule: same scheme, host and port), and only
 *   when that host is an IP address or `localhost`: a DNS name could be pointed at this server
 *   by whoever controls it (DNS rebinding) and is accepted only when listed;
 * - an origin in `allowedOrigins` (exact origins, `https://app.example:8443`), or any when
 *   the list holds '*': accepted;
 * - anything else, 'null' (sandboxed frames, file: pages) and malformed values included: refused
 *   with HTTP 403.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { normalizeOrigin, type OriginPolicy } from '@openclaw-ipc/core';

/** The Origin of an upgrade request (Sec-WebSocket-Origin for protocol version 8), if sent. */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const value = req.headers.origin ?? req.headers['sec-websocket-origin'];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isOwnOrigin(origin: URL, req: IncomingMessage): boolean {
  const scheme = (req.socket as TLSSocket).encrypted === true ? 'https:' : 'http:';
  if (origin.protocol !== scheme || req.headers.host === undefined) return false;
  let reached: URL;
  try {
    reached = new URL(`${scheme}//${req.headers.host}`);
  } catch {
    return false;
  }
  if (reached.host !== origin.host) return false;
  return origin.hostname === 'localhost' || isIP(origin.hostname.replace(/^\[|\]$/g, '')) !== 0;
}

/** Whether the upgrade `req` may proceed under `policy` (see the module comment). */
export function originAccepted(req: IncomingMessage, policy: OriginPolicy): boolean {
  const sent = requestOrigin(req);
  if (sent === undefined) return true;
  if (policy.any) return true;
  const origin = normalizeOrigin(sent);
  if (origin === undefined) return false;
  if (policy.allowed.has(origin)) return true;
  return isOwnOrigin(new URL(origin), req);
}
