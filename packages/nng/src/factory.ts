/**
 * `nng+…` URLs for the umbrella package's connect()/listen(): an RpcClient over a REQ
 * RequestChannel, an RpcServer over a REP ReplyListener, openclaw-ipc JSON by default.
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
  NngReplyListener,
  NngRequestChannel,
  type ReplyListenerOptions,
  type RequestChannelOptions,
} from './channel.js';
import { socketOptionNames } from './option-names.js';

/** Dialects the nng transport speaks, the default first. */
export const nngDialects: Record<string, Dialect> = {
  'openclaw-ipc': openclawJson,
  msgpack: msgpackDialect,
};

/** The crate's default address: ipc:///tmp/openclaw-gateway.ipc on Unix, tcp://127.0.0.1:18790 elsewhere. */
export const DEFAULT_ADDRESS =
  process.platform === 'win32' ? 'tcp://127.0.0.1:18790' : 'ipc:///tmp/openclaw-gateway.ipc';
export const DEFAULT_TCP_ADDRESS = 'tcp://127.0.0.1:18790';

const schemes = ['nng+ipc', 'nng+tcp', 'nng+ws', 'nng+tls+tcp', 'nng+inproc'] as const;

/**
 * The nng address of an `nng+<scheme>://…` URL (`nng+ipc:///tmp/x.ipc` → `ipc:///tmp/x.ipc`).
 * Plain nng addresses (`ipc://…`) are accepted as they are.
 * @throws IpcError INVALID_ARGUMENT for another scheme.
 */
export function nngAddress(url: URL | string): string {
  const href = typeof url === 'string' ? url : url.href;
  const stripped = href.startsWith('nng+') ? href.slice(4) : href;
  if (!/^(ipc|tcp|tcp4|tcp6|ws|wss|inproc|tls\+tcp|tls\+tcp4|tls\+tcp6):\/\//.test(stripped)) {
    throw new IpcError('INVALID_ARGUMENT', `not an nng address: ${href} (use ${schemes.join(', ')})`);
  }
  return stripped;
}

/** What `connect('nng+…')` / connectNng() take: the client's options and a REQ channel's. */
export type NngConnectOptions<C extends Contract = AnyContract> = ConnectOptions<C> & RequestChannelOptions;
/** What `listen('nng+…')` / listenNng() take: the server's options and a REP listener's. */
export type NngListenOptions<C extends Contract = AnyContract> = ListenOptions<C> & ReplyListenerOptions;

const connectOptionNames: OptionNames<NngConnectOptions> = {
  ...CONNECT_OPTION_NAMES,
  ...socketOptionNames,
  resendTime: true,
  failOnDisconnect: true,
  tls: true,
  connectTimeout: true,
  closeOnDisconnect: true,
};
const listenOptionNames: OptionNames<NngListenOptions> = {
  ...LISTEN_OPTION_NAMES,
  ...socketOptionNames,
  tls: true,
  socketMode: true,
  sharedFolder: true,
  allowedOrigins: true,
};

/** Connects an RpcClient to a REP server (ours, the Rust crate's, nngcat…). */
export async function connectNng<C extends Contract = AnyContract>(
  url: URL | string = DEFAULT_ADDRESS,
  options: NngConnectOptions<C> = {},
): Promise<RpcClient<C>> {
  checkOptions(options, connectOptionNames, 'nng connect()');
  const address = nngAddress(url);
  const dialect = resolveDialect(options.dialect, nngDialects, 'nng');
  return RpcClient.connect<C>({
    ...options,
    dialect,
    channel: (signal) => NngRequestChannel.connect(address, options, signal, dialect.frames === 'text'),
  });
}

/** Starts an RpcServer on a REP socket. */
export async function listenNng<C extends Contract = AnyContract>(
  url: URL | string = DEFAULT_ADDRESS,
  options: NngListenOptions<C> = {},
): Promise<RpcServer<C>> {
  checkOptions(options, listenOptionNames, 'nng listen()');
  const address = nngAddress(url);
  const dialect = resolveDialect(options.dialect, nngDialects, 'nng');
  const server = new RpcServer<C>({ ...options, dialect });
  const prefix = String(url).startsWith('nng+') ? 'nng+' : '';
  server.serve(await NngReplyListener.listen(address, options, prefix, dialect.frames === 'text'));
  return server;
}

/** The descriptor the umbrella package registers for `nng+…` URLs. */
export const nngTransport: TransportFactory<RequestChannelOptions, ReplyListenerOptions> = {
  name: 'nng',
  schemes,
  get dialects() {
    return Object.keys(nngDialects);
  },
  optionNames: { connect: Object.keys(connectOptionNames), listen: Object.keys(listenOptionNames) },
  connect<C extends Contract = AnyContract>(url: URL, options?: NngConnectOptions<C>): Promise<RpcClient<C>> {
    return connectNng<C>(url, options);
  },
  listen<C extends Contract = AnyContract>(url: URL, options?: NngListenOptions<C>): Promise<RpcServer<C>> {
    return listenNng<C>(url, options);
  },
};
