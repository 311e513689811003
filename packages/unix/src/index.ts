/**
 * Unix-domain socket transport: u32 little-endian length-prefixed frames, MessagePack
 * IpcMessages multiplexed by id (default), or the SeaweedFS sidecar protocol.
 */
import {
  type AnyContract,
  CONNECT_OPTION_NAMES,
  type ConnectOptions,
  type Contract,
  checkOptions,
  type Dialect,
  IpcError,
  LISTEN_OPTION_NAMES,
  type ListenOptions,
  msgpackDialect,
  type OptionNames,
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

const linkOptionNames = {
  maxMessageSize: true,
  highWaterMark: true,
  maxQueuedBytes: true,
  closeTimeout: true,
} as const;

const connectOptionNames: OptionNames<UnixConnectOptions> = { ...linkOptionNames, connectTimeout: true };
const listenOptionNames: OptionNames<UnixListenOptions> = {
  ...linkOptionNames,
  sequential: true,
  maxConnections: true,
  socketMode: true,
  sharedFolder: true,
};

/**
 * `unix:///path.sock`: connect() takes the client's options and {@link UnixConnectOptions},
 * listen() the server's and {@link UnixListenOptions}.
 */
export const unixTransport: TransportFactory<UnixConnectOptions, UnixListenOptions> = {
  name: 'unix',
  schemes: ['unix'],
  get dialects() {
    return Object.keys(unixDialects);
  },
  optionNames: {
    connect: Object.keys({ ...CONNECT_OPTION_NAMES, ...connectOptionNames }),
    listen: Object.keys({ ...LISTEN_OPTION_NAMES, ...listenOptionNames }),
  },

  async connect<C extends Contract = AnyContract>(
    url: URL,
    options: ConnectOptions<C> & UnixConnectOptions = {},
  ) {
    checkOptions(options, unixTransport.optionNames.connect, 'unix connect()');
    const path = socketPath(url);
    const dialect = resolveDialect(options.dialect, unixDialects, 'unix');
    if (isSequentialDialect(dialect)) {
      // No ids on the wire: the channel pairs replies with requests by order. Unless
      // maxMessageSize says otherwise, requests are capped at what the engine accepts, replies at
      // what the Go sidecar sends.
      const sidecarLink = { ...options, maxMessageSize: options.maxMessageSize ?? SIDECAR_MAX_RESPONSE };
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
      link: (signal) => connectUnix(path, options, signal),
    });
  },

  async listen<C extends Contract = AnyContract>(
    url: URL,
    options: ListenOptions<C> & UnixListenOptions = {},
  ) {
    checkOptions(options, unixTransport.optionNames.listen, 'unix listen()');
    const path = socketPath(url);
    const dialect = resolveDialect(options.dialect, unixDialects, 'unix');
    const server = new RpcServer<C>({ ...options, dialect });
    const sequential = options.sequential ?? isSequentialDialect(dialect);
    server.serve(await UnixListener.listen(path, { ...options, sequential }));
    return server;
  },
};
