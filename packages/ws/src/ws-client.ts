/**
 * `connectWsClient` without its link: the RpcClient with the ws dialects and the ws reconnect
 * defaults, over whatever dials one WebSocket link. The Node build passes connectWs (the `ws`
 * package), the browser build connectBrowserWs (the platform's WebSocket); nothing else differs.
 */
import {
  type ConnectOptions,
  type Contract,
  checkOptions,
  IpcError,
  type Link,
  type OptionNames,
  RpcClient,
  resolveDialect,
} from '@openclaw-ipc/core';
import { wsDialects } from './ws-dialects.js';

/** The client's reconnect defaults: 1 s to 30 s, exponential with full jitter. */
export const WS_RECONNECT = { minDelay: 1000, maxDelay: 30_000 } as const;

/** @throws IpcError INVALID_ARGUMENT unless `url` is ws: or wss:. */
export function checkWsUrl(url: URL): void {
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new IpcError('INVALID_ARGUMENT', `not a ws: or wss: URL: ${url.href}`);
}

/** Parses `url` as a ws: or wss: URL. @throws IpcError INVALID_ARGUMENT. */
export function parseWsUrl(url: string | URL): URL {
  let target: URL;
  try {
    target = new URL(String(url));
  } catch (cause) {
    throw new IpcError('INVALID_ARGUMENT', `not a URL: ${String(url)}`, { cause });
  }
  checkWsUrl(target);
  return target;
}

/** Dials one link to `url` with the transport's own options (aborted by `signal`). */
export type WsDial<O> = (url: URL, options: O, signal?: AbortSignal) => Promise<Link>;

/**
 * Checks the options, builds the RpcClient over `dial` and waits for its first link.
 * @throws IpcError INVALID_ARGUMENT (bad URL, unknown option or dialect), or what `dial` rejects with.
 */
export async function startWsClient<C extends Contract, O extends object>(
  url: string | URL,
  options: ConnectOptions<C> & O,
  names: OptionNames<ConnectOptions<C> & O>,
  dial: WsDial<O>,
): Promise<RpcClient<C>> {
  checkOptions(options, names, 'ws connect()');
  const target = parseWsUrl(url);
  const dialect = resolveDialect(options.dialect, wsDialects, 'ws');
  const client = new RpcClient<C>({
    ...options,
    dialect,
    reconnect: options.reconnect === false ? false : { ...WS_RECONNECT, ...options.reconnect },
    link: (signal) => dial(target, options, signal),
  });
  await client.start();
  return client;
}
