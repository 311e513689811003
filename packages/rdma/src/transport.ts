/**
 * The rdma TransportFactory: `rdma+shm:///ctl.sock`, `rdma+cma:///ctl.sock` (a Unix control
 * socket; the one-sided path over shared memory or cross-memory attach) and
 * `rdma+verbs://host:port` (a TCP control connection; the one-sided path over ibverbs).
 *
 * Dialects: `msgpack` (default; the RPC API of every transport, large messages by rendezvous,
 * large binary values out of band: see out-of-band.ts)
 * and `sidecar` (the SeaweedFS engine's control protocol served for real by {@link SidecarEngine};
 * shm cannot serve it, its addresses being arena offsets a sidecar client cannot map).
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import {
  type AnyContract,
  accessMode,
  CONNECT_OPTION_NAMES,
  type ConnectOptions,
  type Contract,
  checkOptions,
  checkSocketFolder,
  DEFAULT_LIMITS,
  type Dialect,
  IpcError,
  LISTEN_OPTION_NAMES,
  type Link,
  type LinkListener,
  type ListenOptions,
  type OptionNames,
  RpcClient,
  RpcServer,
  resolveDialect,
  type SocketAccessOptions,
  type TransportFactory,
} from '@openclaw-ipc/core';
import {
  connectUnix,
  isSequentialDialect,
  OrderedReplyChannel,
  SIDECAR_MAX_REQUEST,
  SIDECAR_MAX_RESPONSE,
  SocketLink,
  type SocketLinkOptions,
  sidecarDialect,
  UnixListener,
} from '@openclaw-ipc/unix';
import { controlPeerCredentials, type HandshakeOptions, handshake } from './handshake.js';
import { crc32c, type PeerCredentials } from './native-bridge.js';
import { rdmaMsgpackDialect } from './out-of-band.js';
import {
  type ProviderEndpoint,
  type ProviderName,
  type RdmaProvider,
  unavailableError,
} from './providers/provider.js';
import { providerByName } from './providers/registry.js';
import { DEFAULT_RDMA_MAX_MESSAGE, DEFAULT_RENDEZVOUS_THRESHOLD } from './rdma-link.js';
import { SidecarEngine, type SidecarEngineOptions } from './sidecar-engine.js';

/**
 * What rdma's connect() and listen() both take besides the client's or server's: the link's
 * limits (maxMessageSize, default 256 MiB: large messages go by rendezvous), the handshake's.
 */
export interface RdmaOptions extends Omit<HandshakeOptions, 'onClosed'> {
  /** Registration table slots of this process (first use only). Default 4096. */
  capacity?: number;
}

/** What `connect('rdma+…')` takes besides the client's options. */
export interface RdmaConnectOptions extends RdmaOptions {
  /** Milliseconds to wait for the control connection. Default 10 000. */
  connectTimeout?: number;
}

/**
 * What `listen('rdma+…')` takes besides the server's options: who may connect to a control
 * socket (shm, cma) and the sidecar engine's options (dialect `sidecar`).
 */
export interface RdmaListenOptions extends RdmaOptions, SidecarEngineOptions, SocketAccessOptions {}

const linkOptionNames: OptionNames<RdmaOptions> = {
  capacity: true,
  handshakeTimeout: true,
  rendezvousThreshold: true,
  maxMessageSize: true,
  rendezvousTtlMs: true,
  maxInboundBytes: true,
  maxQueuedBytes: true,
};
const connectOptionNames: OptionNames<ConnectOptions & RdmaConnectOptions> = {
  ...CONNECT_OPTION_NAMES,
  ...linkOptionNames,
  connectTimeout: true,
};
const listenOptionNames: OptionNames<ListenOptions & RdmaListenOptions> = {
  ...LISTEN_OPTION_NAMES,
  ...linkOptionNames,
  blobs: true,
  resolveNeedle: true,
  maxSessions: true,
  maxTransferSize: true,
  defaultTimeoutSecs: true,
  maxTimeoutSecs: true,
  deviceName: true,
  realRdma: true,
  version: true,
  socketMode: true,
  sharedFolder: true,
};

/** Dialects the rdma transport speaks, the default first. */
export const rdmaDialects: Record<string, Dialect> = {
  msgpack: rdmaMsgpackDialect,
  sidecar: sidecarDialect,
};

/** Where an rdma URL points. */
export type RdmaTarget =
  | { provider: 'shm' | 'cma'; path: string }
  | { provider: 'verbs'; host: string; port: number };

/** Parses `rdma+shm:///p.sock`, `rdma+cma:///p.sock`, `rdma+verbs://host:port`. */
export function parseRdmaUrl(url: URL): RdmaTarget {
  const m = /^rdma\+(shm|cma|verbs):$/.exec(url.protocol);
  if (!m)
    throw new IpcError('INVALID_ARGUMENT', `not an rdma+shm:, rdma+cma: or rdma+verbs: URL: ${url.href}`);
  const provider = m[1] as ProviderName;
  if (provider === 'verbs') {
    // Port 0 (listen only): chosen by the system; the server's address reports it.
    const port = url.port === '' ? -1 : Number(url.port);
    if (!url.hostname || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new IpcError('INVALID_ARGUMENT', `rdma+verbs URL needs host:port: ${url.href}`);
    return { provider, host: url.hostname.replace(/^\[|\]$/g, ''), port };
  }
  const path = decodeURIComponent(url.pathname);
  if (url.host || !path || path === '/')
    throw new IpcError(
      'INVALID_ARGUMENT',
      `${url.protocol} URL needs a socket path (${url.protocol}///path.sock): ${url.href}`,
    );
  return { provider, path };
}

async function availableProvider(name: ProviderName): Promise<RdmaProvider> {
  const provider = await providerByName(name);
  const a = provider.availability();
  if (!a.available) throw unavailableError(name, a);
  return provider;
}

/** The control socket's frames carry messages up to the rendezvous threshold inline. */
const controlOptions = (o: RdmaOptions): SocketLinkOptions => ({
  maxMessageSize: Math.max(
    DEFAULT_LIMITS.maxMessageSize,
    (o.rendezvousThreshold ?? DEFAULT_RENDEZVOUS_THRESHOLD) + 1,
  ),
});

/** Who may connect to a control socket: owner only unless `socketMode` widens it. */
const controlAccess = (o: RdmaListenOptions): SocketAccessOptions => ({
  socketMode: o.socketMode,
  sharedFolder: o.sharedFolder,
});

function dialTcp(
  host: string,
  port: number,
  o: RdmaConnectOptions,
  signal?: AbortSignal,
): Promise<SocketLink> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new IpcError('ABORTED', 'connect aborted'));
    const socket = netConnect({ host, port });
    socket.pause();
    const timeout = o.connectTimeout ?? DEFAULT_LIMITS.connectTimeout;
    const timer = setTimeout(
      () => fail(new IpcError('TIMEOUT', `connect to ${host}:${port} timed out after ${timeout} ms`)),
      timeout,
    );
    const fail = (err: IpcError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new IpcError('CONNECT', `cannot connect to ${host}:${port}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      ),
    );
    signal?.addEventListener('abort', () => fail(new IpcError('ABORTED', 'connect aborted')), { once: true });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(new SocketLink(socket, controlOptions(o), 'rdma+verbs', `rdma+verbs://${host}:${port}`));
    });
  });
}

/** Dials the control connection, opens a provider endpoint for it and runs the handshake. */
async function dial(target: RdmaTarget, o: RdmaConnectOptions, signal?: AbortSignal): Promise<Link> {
  if (target.provider === 'verbs' && target.port === 0)
    throw new IpcError('INVALID_ARGUMENT', 'rdma+verbs: cannot connect to port 0');
  const provider = await availableProvider(target.provider);
  const control =
    target.provider === 'verbs'
      ? await dialTcp(target.host, target.port, o, signal)
      : await connectUnix(
          target.path,
          { ...controlOptions(o), connectTimeout: o.connectTimeout ?? DEFAULT_LIMITS.connectTimeout },
          signal,
        );
  let endpoint: ProviderEndpoint | undefined;
  try {
    const credentials = target.provider === 'verbs' ? undefined : controlPeerCredentials(control);
    endpoint = await provider.open({
      role: 'client',
      ...(target.provider === 'verbs' ? { host: target.host } : {}),
      ...(o.capacity ? { capacity: o.capacity } : {}),
    });
    const opened = endpoint;
    return await handshake(control, endpoint, 'client', crc32c, credentials, {
      ...o,
      onClosed: () => void opened.close(),
    });
  } catch (err) {
    control.close();
    await endpoint?.close();
    throw IpcError.from(err, 'CONNECT');
  }
}

/** Accepts control connections (Unix or TCP), runs the handshake on each, hands out RdmaLinks. */
class RdmaListener implements LinkListener {
  private handler: ((link: Link) => void) | undefined;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly endpoint: ProviderEndpoint,
    private readonly inner: { close(): Promise<void> },
    private readonly options: RdmaOptions,
    private readonly withCredentials: boolean,
  ) {}

  accept(control: Link): void {
    if (this.closed) {
      control.close();
      return;
    }
    let credentials: PeerCredentials | undefined;
    try {
      credentials = this.withCredentials ? controlPeerCredentials(control) : undefined;
    } catch (err) {
      control.close(IpcError.from(err));
      return;
    }
    handshake(control, this.endpoint, 'server', crc32c, credentials, this.options).then(
      (link) => {
        if (this.closed || !this.handler) link.close();
        else this.handler(link);
      },
      () => {}, // the control link is closed; nothing else to do for a failed handshake
    );
  }

  onLink(handler: (link: Link) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inner.close();
    await this.endpoint.close();
  }
}

class TcpControlListener {
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly server: Server,
    readonly port: number,
  ) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A listener for `target` whose endpoint and (for sidecar) engine close with it. */
async function listenRdma(
  target: RdmaTarget,
  dialect: Dialect,
  server: RpcServer<AnyContract>,
  o: RdmaListenOptions,
): Promise<LinkListener> {
  if (target.provider !== 'verbs') {
    // Before the provider creates its own socket (`<path>.shm`) in the same folder.
    accessMode(o.socketMode, 'socketMode');
    checkSocketFolder(target.path, o);
  }
  const provider = await availableProvider(target.provider);
  const endpoint = await provider.open({
    role: 'server',
    ...(target.provider === 'verbs' ? { host: target.host } : { controlPath: target.path }),
    ...(o.capacity ? { capacity: o.capacity } : {}),
  });
  try {
    if (isSequentialDialect(dialect)) {
      if (target.provider === 'shm')
        throw new IpcError(
          'INVALID_ARGUMENT',
          'the sidecar dialect needs rdma+cma (or rdma+verbs): shm addresses are arena offsets a sidecar client cannot read',
        );
      if (target.provider === 'verbs')
        throw new IpcError('INVALID_ARGUMENT', 'the sidecar dialect is served over rdma+cma:///path.sock');
      const engine = new SidecarEngine(endpoint, crc32c, o);
      for (const [method, handler] of Object.entries(engine.handlers())) server.handle(method, handler);
      const unix = await UnixListener.listen(target.path, {
        ...controlAccess(o),
        sequential: true,
        maxMessageSize: SIDECAR_MAX_REQUEST,
      });
      return {
        address: `rdma+cma://${target.path}`,
        onLink: (h) => unix.onLink(h),
        close: async () => {
          await unix.close();
          engine.close();
          await endpoint.close();
        },
      };
    }
    if (target.provider === 'verbs') {
      const tcp = createServer({ pauseOnConnect: true });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', (err: NodeJS.ErrnoException) =>
          reject(new IpcError('UNAVAILABLE', `cannot listen on ${target.host}:${target.port}: ${err.code}`)),
        );
        tcp.listen(target.port, target.host, () => resolve());
      });
      const port = (tcp.address() as { port: number }).port;
      const inner = new TcpControlListener(tcp, port);
      const listener = new RdmaListener(`rdma+verbs://${target.host}:${port}`, endpoint, inner, o, false);
      tcp.on('connection', (socket) => {
        socket.setNoDelay(true);
        listener.accept(new SocketLink(socket, controlOptions(o), 'rdma+verbs'));
      });
      return listener;
    }
    const unix = await UnixListener.listen(target.path, { ...controlOptions(o), ...controlAccess(o) });
    const listener = new RdmaListener(`rdma+${target.provider}://${target.path}`, endpoint, unix, o, true);
    unix.onLink((control) => listener.accept(control));
    return listener;
  } catch (err) {
    await endpoint.close();
    throw err;
  }
}

/**
 * `rdma+shm:///ctl.sock`, `rdma+cma:///ctl.sock`, `rdma+verbs://host:port`: connect() takes the
 * client's options and {@link RdmaConnectOptions}, listen() the server's and
 * {@link RdmaListenOptions}.
 */
export const rdmaTransport: TransportFactory<RdmaConnectOptions, RdmaListenOptions> = {
  name: 'rdma',
  schemes: ['rdma+shm', 'rdma+cma', 'rdma+verbs'],
  get dialects() {
    return Object.keys(rdmaDialects);
  },
  optionNames: { connect: Object.keys(connectOptionNames), listen: Object.keys(listenOptionNames) },

  async connect<C extends Contract = AnyContract>(
    url: URL,
    options: ConnectOptions<C> & RdmaConnectOptions = {},
  ) {
    checkOptions(options, connectOptionNames, 'rdma connect()');
    const target = parseRdmaUrl(url);
    const dialect = resolveDialect(options.dialect, rdmaDialects, 'rdma');
    if (isSequentialDialect(dialect)) {
      // The sidecar's control protocol, as the Go sidecar speaks it; the data is read with
      // SidecarReader (which also knows the engine's pid).
      if (target.provider !== 'cma')
        throw new IpcError('INVALID_ARGUMENT', 'the sidecar dialect is served over rdma+cma:///path.sock');
      const control = {
        maxMessageSize: options.maxMessageSize ?? SIDECAR_MAX_RESPONSE,
        connectTimeout: options.connectTimeout,
      };
      return RpcClient.connect<C>({
        ...options,
        dialect,
        maxMessageSize: options.maxMessageSize ?? SIDECAR_MAX_REQUEST,
        channel: async (signal) => new OrderedReplyChannel(await connectUnix(target.path, control, signal)),
      });
    }
    await availableProvider(target.provider);
    return RpcClient.connect<C>({
      ...options,
      dialect,
      maxMessageSize: options.maxMessageSize ?? DEFAULT_RDMA_MAX_MESSAGE,
      link: (signal) => dial(target, options, signal),
    });
  },

  async listen<C extends Contract = AnyContract>(
    url: URL,
    options: ListenOptions<C> & RdmaListenOptions = {},
  ) {
    checkOptions(options, listenOptionNames, 'rdma listen()');
    const target = parseRdmaUrl(url);
    const dialect = resolveDialect(options.dialect, rdmaDialects, 'rdma');
    // The application's handlers are registered after the sidecar engine's, so they can replace them.
    const { handlers, ...rest } = options;
    const server = new RpcServer<C>({
      ...rest,
      dialect,
      maxMessageSize:
        options.maxMessageSize ?? (isSequentialDialect(dialect) ? undefined : DEFAULT_RDMA_MAX_MESSAGE),
    });
    const listener = await listenRdma(target, dialect, server as unknown as RpcServer<AnyContract>, options);
    for (const [method, handler] of Object.entries(handlers ?? {}))
      if (handler) server.handle(method as never, handler as never);
    server.serve(listener);
    return server;
  },
};
