/**
 * connect(url) / listen(url): one entry point for every transport, chosen by URL scheme, with
 * options typed by the scheme (url-options.ts).
 */
import {
  type AnyContract,
  CLIENT_URL,
  CONNECT_OPTION_NAMES,
  type Contract,
  checkOptions,
  DEFAULT_LIMITS,
  IpcError,
  ROUTE_ONLY,
  type RouteOfClient,
  RpcClient,
  type RpcClientOptions,
  type RpcServer,
  routeOf,
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

/** What `connect([url, …], options)` takes: any transport's options, and `probeInterval`. */
export type FailoverConnectOptions<C extends Contract = AnyContract> = UrlConnectOptions<string, C> & {
  /**
   * How often, in ms, a client connected to a later URL dials the earlier ones, to go back to
   * the first that answers (between requests, never in the middle of one). Default 5000; 0:
   * stay until the connection is lost.
   */
  probeInterval?: number;
};

/**
 * Connects an RPC client to `url` (`unix:///tmp/x.sock`, `nng+ipc:///tmp/x.ipc`, `ws://…`,
 * `file:///dir?role=frontend`, …). The options are the client's and the scheme's transport's
 * (UrlConnectOptions). `client.url` is the URL. Rejects with INVALID_ARGUMENT (an unknown scheme
 * or option), CONNECT or UNAVAILABLE.
 *
 * With a list of URLs (any mix of transports and dialects), the client connects to the first
 * that answers, in order; after a loss it reconnects under its policy across the list, and goes
 * back to an earlier URL once it answers again (`probeInterval`). An option goes to the
 * transports that know it (an option none of them knows is INVALID_ARGUMENT); `dialect` by name
 * is each transport's own (leave it out to use each one's default). The client's limits are the
 * smallest of those the URLs' transports choose. `client.url` and `onState` say which URL is in
 * use. Rejects CONNECT (listing each URL's failure) when none answers.
 */
export async function connect<C extends Contract = AnyContract, U extends string | URL = string | URL>(
  url: U,
  options?: UrlConnectOptions<U, C>,
): Promise<RpcClient<C>>;
export async function connect<C extends Contract = AnyContract>(
  urls: readonly (string | URL)[],
  options?: FailoverConnectOptions<C>,
): Promise<RpcClient<C>>;
export async function connect<C extends Contract = AnyContract>(
  url: string | URL | readonly (string | URL)[],
  options?: object,
): Promise<RpcClient<C>> {
  if (Array.isArray(url)) return connectFailover<C>(url, options as FailoverConnectOptions<C>);
  const { factory, url: parsed } = transportFor(url as string | URL);
  return factory.connect<C>(parsed, { ...options, [CLIENT_URL]: parsed.href } as never);
}

/** The engine's own options among connect()'s (each transport passes them to its RpcClient). */
const engineOptionNames = Object.keys(CONNECT_OPTION_NAMES).filter((name) => name !== 'dialect');

async function connectFailover<C extends Contract>(
  urls: readonly (string | URL)[],
  options: FailoverConnectOptions<C> = {},
): Promise<RpcClient<C>> {
  if (urls.length === 0) throw new IpcError('INVALID_ARGUMENT', 'connect([]): no URL given');
  const { probeInterval, ...rest } = options as Record<string, unknown> & { probeInterval?: number };
  const targets = urls.map((u) => transportFor(u));
  const known = new Set(targets.flatMap((t) => t.factory.optionNames.connect));
  checkOptions(rest, [...known, 'probeInterval'], 'connect([…])');
  const pick = (names: readonly string[]) =>
    Object.fromEntries(Object.entries(rest).filter(([k]) => names.includes(k)));
  const routes: RouteOfClient[] = [];
  for (const { factory, url } of targets) {
    const unstarted = await factory.connect(url, {
      ...pick(factory.optionNames.connect),
      [ROUTE_ONLY]: true,
    } as never);
    routes.push(routeOf(unstarted, url.href));
  }
  const smallest = (values: Array<number | undefined>, fallback: number) =>
    Math.min(...values.map((v) => v ?? fallback));
  return RpcClient.connect<C>({
    ...(pick(engineOptionNames) as Partial<RpcClientOptions<C>>),
    dialect: routes[0]!.dialect,
    routes,
    probeInterval,
    maxMessageSize: smallest(
      routes.map((r) => r.maxMessageSize),
      DEFAULT_LIMITS.maxMessageSize,
    ),
    maxInFlight: smallest(
      routes.map((r) => r.maxInFlight),
      DEFAULT_LIMITS.maxInFlight,
    ),
  });
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
