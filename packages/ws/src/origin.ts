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
import { IpcError } from '@openclaw-ipc/core';

/** The parsed `allowedOrigins` option. */
export interface OriginPolicy {
  /** '*' was listed: every origin is accepted. */
  readonly any: boolean;
  /** Normalised origins accepted besides the server's own. */
  readonly allowed: ReadonlySet<string>;
}

const SCHEME_AND_HOST = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+\/?$/i;

/** `text` as a browser serialises an origin (lowercase, no default port), or undefined. */
export function normalizeOrigin(text: string): string | undefined {
  if (!SCHEME_AND_HOST.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  // Special schemes (http, https) have an origin; others (chrome-extension:) are compared as written.
  return url.origin !== 'null' ? url.origin : text.toLowerCase().replace(/\/$/, '');
}

/**
 * Parses the `allowedOrigins` option.
 * @throws IpcError INVALID_ARGUMENT for anything but an array of origins or '*' (a path, a
 *   wildcard inside a name and 'null' are refused: '*' says "any page" explicitly).
 */
export function originPolicy(allowedOrigins: unknown): OriginPolicy {
  if (allowedOrigins === undefined) return { any: false, allowed: new Set() };
  if (!Array.isArray(allowedOrigins))
    throw new IpcError(
      'INVALID_ARGUMENT',
      `allowedOrigins must be an array of origins such as ['https://app.example']: got ${JSON.stringify(allowedOrigins)}`,
    );
  let any = false;
  const allowed = new Set<string>();
  for (const entry of allowedOrigins) {
    if (entry === '*') {
      any = true;
      continue;
    }
    const origin = typeof entry === 'string' && !entry.includes('*') ? normalizeOrigin(entry) : undefined;
    if (origin === undefined)
      throw new IpcError(
        'INVALID_ARGUMENT',
        `allowedOrigins: ${JSON.stringify(entry)} is not an origin (scheme://host[:port], no path) or '*'`,
        { details: { entry } },
      );
    allowed.add(origin);
  }
  return { any, allowed };
}

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
