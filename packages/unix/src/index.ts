/**
 * Unix-domain socket transport: u32 little-endian length-prefixed frames, MessagePack
 * IpcMessages multiplexed by id (default), or the SeaweedFS sidecar protocol.
 */
import {
  type AnyContract,
  type ConnectOptions,
  type Contract,
  type Dialect,
  IpcError,
  type ListenOptions,
  msgpackDialect,
  openclawJson,
  RpcClient,
  RpcServer,
  resolveDialect,
  type TransportFactory,
} from '@openclaw-ipc/core';
import {
  isSequentialDialect,
  OrderedReplyChannel,
  SIDECAR_MAX_REQUEST,
  SIDECAR_MAX_RESPONSE,
  sidecarDialect,
} from './sidecar/index.js';
import {
  connectUnix,
  type UnixConnectOptions,
  UnixListener,
  type UnixListenOptions,
} from './unix-listener.js';

export * from './frame-decoder.js';
export * from './sidecar/index.js';
export * from './socket-link.js';
export * from './unix-listener.js';

/** Dialects the unix transport speaks, the default first. */
export const unixDialects: Record<string, Dialect> = {
  msgpack: msgpackDialect,
  'openclaw-ipc': openclawJson,
  sidecar: sidecarDialect,
};

/** The socket path of a `unix:///path.sock` URL. */
export function socketPath(url: URL): string {
  if (url.protocol !== 'unix:') throw new IpcError('INVALID_ARGUMENT', `not a unix: URL: ${url.href}`);
  const path = decodeURIComponent(url.pathname);
  if (!path || path === '/')
    throw new IpcError('INVALID_ARGUMENT', `unix URL has no socket path: ${url.href}`);
  return path;
}

export const unixTransport: TransportFactory = {
  name: 'unix',
  schemes: ['unix'],
  get dialects() {
    return Object.keys(unixDialects);
  },

  async connect<C extends Contract = AnyContract>(url: URL, options: ConnectOptions<C> = {}) {
    const path = socketPath(url);
    const dialect = resolveDialect(options.dialect, unixDialects, 'unix');
    const linkOptions = options as UnixConnectOptions;
    if (isSequentialDialect(dialect)) {
      // No ids on the wire: the channel pairs replies with requests by order. Requests are
      // capped at what the engine accepts, replies at what the Go sidecar accepts.
      const sidecarLink = { ...linkOptions, maxFrameSize: linkOptions.maxFrameSize ?? SIDECAR_MAX_RESPONSE };
      return RpcClient.connect<C>({
        ...options,
        dialect,
        maxMessageSize: options.maxMessageSize ?? SIDECAR_MAX_REQUEST,
        channel: async (signal) => new OrderedReplyChannel(await connectUnix(path, sidecarLink, signal)),
      });
    }
    return RpcClient.connect<C>({
      ...options,
      dialect,
      maxMessageSize: options.maxMessageSize ?? linkOptions.maxFrameSize,
      link: (signal) => connectUnix(path, linkOptions, signal),
    });
  },

  async listen<C extends Contract = AnyContract>(url: URL, options: ListenOptions<C> = {}) {
    const path = socketPath(url);
    const dialect = resolveDialect(options.dialect, unixDialects, 'unix');
    const server = new RpcServer<C>({ ...options, dialect });
    for (const [method, handler] of Object.entries(options.handlers ?? {}))
      server.handle(method as never, handler);
    const listenOptions = options as UnixListenOptions;
    const sequential = listenOptions.sequential ?? isSequentialDialect(dialect);
    server.serve(await UnixListener.listen(path, { ...listenOptions, sequential }));
    return server;
  },
};
