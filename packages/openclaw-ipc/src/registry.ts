/**
 * connect(url) / listen(url): one entry point for every transport, chosen by URL scheme.
 */
import {
  type AnyContract,
  type ConnectOptions,
  type Contract,
  IpcError,
  type ListenOptions,
  type RpcClient,
  type RpcServer,
  type TransportFactory,
} from '@openclaw-ipc/core';

const byScheme = new Map<string, TransportFactory>();

/** Makes a transport reachable through its URL schemes (replacing an earlier one per scheme). */
export function registerTransport(factory: TransportFactory): void {
  for (const scheme of factory.schemes) byScheme.set(scheme, factory);
}

/** The URL schemes known now, e.g. ['unix', 'nng+ipc', …]. */
export function knownSchemes(): string[] {
  return [...byScheme.keys()];
}

/** The registered transports, each once. */
export function transports(): TransportFactory[] {
  return [...new Set(byScheme.values())];
}

/**
 * The transport that serves `url`.
 * @throws IpcError INVALID_ARGUMENT for a malformed URL or an unknown scheme (listing the known).
 */
export function transportFor(url: string | URL): { factory: TransportFactory; url: URL } {
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
 * `file:///dir?role=frontend`, …). Rejects with INVALID_ARGUMENT, CONNECT or UNAVAILABLE.
 */
export async function connect<C extends Contract = AnyContract>(
  url: string | URL,
  options: ConnectOptions<C> = {},
): Promise<RpcClient<C>> {
  const { factory, url: parsed } = transportFor(url);
  return factory.connect<C>(parsed, options);
}

/** Starts an RPC server on `url`. Rejects with INVALID_ARGUMENT, UNAVAILABLE or CONNECT. */
export async function listen<C extends Contract = AnyContract>(
  url: string | URL,
  options: ListenOptions<C> = {},
): Promise<RpcServer<C>> {
  const { factory, url: parsed } = transportFor(url);
  return factory.listen<C>(parsed, options);
}
