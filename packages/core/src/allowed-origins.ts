/**
 * The `allowedOrigins` option of servers a browser can reach (the ws transport, nng+ws
 * listeners): browser origins allowed to connect, exactly as a browser serialises them in the
 * Origin header (`https://app.example`, lowercase, no default port), or '*' for any page. One
 * parser for every transport, so a list means the same everywhere (docs/security.md).
 */
import { IpcError } from './errors.js';

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
