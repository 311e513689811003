/**
 * Opening file-channel ends as links, a listener for RpcServer, and the FileChannel shortcuts.
 */

import { pathToFileURL } from 'node:url';
import {
  type AnyContract,
  type Contract,
  checkOptions,
  type Dialect,
  type Handlers,
  IpcError,
  type Link,
  type LinkListener,
  msgpackDialect,
  openclawJson,
  RpcClient,
  type RpcClientOptions,
  RpcServer,
  type RpcServerOptions,
  resolveDialect,
} from '@openclaw-ipc/core';
import type { ChannelRole } from './channel-files.js';
import { ipckitDialect } from './ipckit-dialect.js';
import { IPCKIT_KEEP } from './ipckit-file.js';
import { IpckitLink, type IpckitLinkOptions } from './ipckit-link.js';
import { JournalLink, type JournalLinkOptions } from './journal-link.js';
import { channelOptionNames } from './option-names.js';
import { skipUndecodable } from './tolerant-dialect.js';

/** `ipckit`: ipckit's files, compatible with its peers (default). `journal`: ours, lossless. */
export type FileChannelMode = 'ipckit' | 'journal';

export interface FileLinkOptions extends IpckitLinkOptions, JournalLinkOptions {
  /** Default 'ipckit'. */
  mode?: FileChannelMode;
}

/**
 * Requests a client keeps in flight by default: in ipckit mode 100, since a channel file keeps
 * only the newest 100 messages and more unread ones would be lost by the format.
 */
export const defaultMaxInFlight = (mode: FileChannelMode): number | undefined =>
  mode === 'ipckit' ? IPCKIT_KEEP : undefined;

/** A file-channel end: a Link with flush(). */
export type FileLink = IpckitLink | JournalLink;

/** Dialects per mode, the default first. ipckit mode carries ipckit messages only. */
export const fileDialects: Record<FileChannelMode, Record<string, Dialect>> = {
  ipckit: { ipckit: ipckitDialect },
  journal: { msgpack: msgpackDialect, 'openclaw-ipc': openclawJson, ipckit: ipckitDialect },
};

/**
 * Opens one end of the channel in `dir`.
 * @throws IpcError UNAVAILABLE (permissions), INVALID_ARGUMENT, TIMEOUT (journal name in use).
 */
export function openFileLink(
  dir: string,
  role: ChannelRole,
  options: FileLinkOptions = {},
): Promise<FileLink> {
  const mode = options.mode ?? 'ipckit';
  if (mode === 'ipckit') return IpckitLink.open(dir, role, options);
  if (mode === 'journal') return JournalLink.open(dir, role, options);
  throw new IpcError('INVALID_ARGUMENT', `unknown file channel mode "${String(mode)}" (ipckit or journal)`);
}

/** A LinkListener that yields the backend end of one channel. */
export class FileListener implements LinkListener {
  readonly address: string;
  private closed = false;

  /**
   * The address clients connect to: the channel's folder with the other end's role (a backend
   * listener is reached by frontends), so `connect(listener.address)` joins this channel.
   */
  private constructor(readonly link: FileLink) {
    const url = pathToFileURL(link.dir);
    url.searchParams.set('role', link.role === 'backend' ? 'frontend' : 'backend');
    if (link instanceof JournalLink) url.searchParams.set('mode', 'journal');
    this.address = url.href;
  }

  /** Opens the `role` end (backend by default) and serves it. */
  static async open(
    dir: string,
    options: FileLinkOptions & { role?: ChannelRole } = {},
  ): Promise<FileListener> {
    return new FileListener(await openFileLink(dir, options.role ?? 'backend', options));
  }

  onLink(handler: (link: Link) => void): void {
    if (!this.closed) handler(this.link);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.link.close();
    await this.link.flush().catch(() => {});
    await this.link.whenClosed();
  }
}

export interface FileChannelOptions<C extends Contract = AnyContract> extends FileLinkOptions {
  /** A dialect name of the mode (see fileDialects) or a Dialect. */
  dialect?: string | Dialect;
  /** Options of the RpcServer (backend) or RpcClient (frontend). */
  server?: Omit<Partial<RpcServerOptions<C>>, 'dialect'>;
  client?: Omit<Partial<RpcClientOptions<C>>, 'dialect' | 'link' | 'channel'>;
  /** Backend: handlers registered before the first request is read. */
  handlers?: Handlers<C>;
}

/** The request/response/event API over a channel directory. */
export const FileChannel = {
  /** Serves requests arriving in `dir` (the backend end). */
  async backend<C extends Contract = AnyContract>(
    dir: string,
    options: FileChannelOptions<C> = {},
  ): Promise<RpcServer<C>> {
    checkOptions(options, channelOptionNames, 'FileChannel.backend()');
    const mode = options.mode ?? 'ipckit';
    const report = options.onError ?? ((e: IpcError) => options.server?.onError?.(e));
    const dialect = skipUndecodable(
      resolveDialect(options.dialect, fileDialects[mode] ?? {}, 'file'),
      report,
    );
    const server = new RpcServer<C>({
      ...options.server,
      dialect,
      handlers: { ...options.server?.handlers, ...options.handlers } as Handlers<C>,
      onError: (e, conn) => options.server?.onError?.(e, conn),
    });
    server.serve(await FileListener.open(dir, { ...options, onError: report }));
    return server;
  },

  /** A client of the backend serving `dir` (the frontend end). */
  async frontend<C extends Contract = AnyContract>(
    dir: string,
    options: FileChannelOptions<C> = {},
  ): Promise<RpcClient<C>> {
    checkOptions(options, channelOptionNames, 'FileChannel.frontend()');
    const mode = options.mode ?? 'ipckit';
    const onError = options.onError ?? ((e: IpcError) => options.client?.onError?.(e));
    const dialect = skipUndecodable(
      resolveDialect(options.dialect, fileDialects[mode] ?? {}, 'file'),
      onError,
    );
    return RpcClient.connect<C>({
      ...options.client,
      maxInFlight: options.client?.maxInFlight ?? defaultMaxInFlight(mode),
      dialect,
      maxMessageSize: options.client?.maxMessageSize ?? options.maxMessageSize,
      link: () => openFileLink(dir, 'frontend', { ...options, onError }),
    });
  },
};
