/**
 * connect(url) / listen(url): one entry point for every transport, chosen by URL scheme, with
 * options typed by the scheme (url-options.ts).
 */
import {
  type AnyContract,
  type Contract,
  IpcError,
  type RpcClient,
  type RpcServer,
  type TransportFactory,
} from '@openclaw-ipc/core';
import type { UrlConnectOptions, UrlListenOptions } from './url-options.js';

/** A registered transport, whatever its own options. */
type AnyTransport = TransportFactory<any, any>;

const byScheme = new Map<string, AnyTransport>();

/** Makes a transport reachable through its URL schemes (replacing an earlier one per scheme). */
export function registerTransport(factory: AnyTransport): void {
  for (const scheme of factory.schemes) byScheme.set(scheme, factory);
}

/** The URL schemes known now, e.g. ['unix', 'nng+ipc', …]. */
export function knownSchemes(): string[] {
  return [...byScheme.keys()];
}

/** The registered transports, each once. */
export function transports(): AnyTransport[] {
  return [...new Set(byScheme.values())];
}

/**
 * The transport that serves `url`.
 * @throws IpcError INVALID_ARGUMENT for a malformed URL or an unknown scheme (listing the known).
 */
export function transportFor(url: string | URL): { factory: AnyTransport; url: URL } {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch (cause) {
    throw new IpcError('INVALID_ARGUMENT', `not a URL: ${String(url)}`, { cause });
  }
  const scheme = parsed.protocol.slice(0, -1);
  const factory = byScheme.get(scheme);
  if (!factory) {
    throw new IpcError(
      'INVALID_ARGUMENT',
      `unknown scheme "${scheme}:" in ${parsed.href}; known schemes: ${knownSchemes()
        .map((s) => `${s}:`)
        .join(', ')}`,
      { details: { scheme, known: knownSchemes() } },
    );
  }
  return { factory, url: parsed };
}

/**
 * Connects an RPC client to `url` (`unix:///tmp/x.sock`, `nng+ipc:///tmp/x.ipc`, `ws://…`,
 * `file:///dir?role=frontend`, …). The options are the client's and the scheme's transport's
 * (UrlConnectOptions). Rejects with INVALID_ARGUMENT (an unknown scheme or option), CONNECT or
 * UNAVAILABLE.
 */
export async function connect<C extends Contract = AnyContract, U extends string | URL = string | URL>(
  url: U,
  options?: UrlConnectOptions<U, C>,
): Promise<RpcClient<C>> {
  const { factory, url: parsed } = transportFor(url);
  return factory.connect<C>(parsed, options);
}

/**
 * Starts an RPC server on `url`; the options are the server's and the scheme's transport's
 * (UrlListenOptions). Rejects with INVALID_ARGUMENT (an unknown scheme or option), UNAVAILABLE
 * or CONNECT.
 */
export async function listen<C extends Contract = AnyContract, U extends string | URL = string | URL>(
  url: U,
  options?: UrlListenOptions<U, C>,
): Promise<RpcServer<C>> {
  const { factory, url: parsed } = transportFor(url);
  return factory.listen<C>(parsed, options);
}
