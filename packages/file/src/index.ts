/**
 * File-channel transport: the ipckit-compatible inbox/outbox files (default) and a lossless
 * journal mode, as `file:///dir?role=backend|frontend&mode=ipckit|journal`.
 */
import {
  type AnyContract,
  CONNECT_OPTION_NAMES,
  type ConnectOptions,
  type Contract,
  checkOptions,
  IpcError,
  LISTEN_OPTION_NAMES,
  type ListenOptions,
  type OptionNames,
  RpcClient,
  RpcServer,
  resolveDialect,
  type TransportFactory,
} from '@openclaw-ipc/core';
import type { ChannelRole } from './channel-files.js';
import {
  defaultMaxInFlight,
  type FileChannelMode,
  type FileLinkOptions,
  FileListener,
  fileDialects,
  openFileLink,
} from './file-channel.js';
import { fileLinkOptionNames } from './option-names.js';
import { skipUndecodable } from './tolerant-dialect.js';

export * from './channel-files.js';
export * from './delivered-ids.js';
export * from './file-channel.js';
export * from './ipckit-dialect.js';
export * from './ipckit-file.js';
export * from './ipckit-link.js';
export * from './ipckit-lock.js';
export * from './ipckit-message.js';
export * from './journal-link.js';
export * from './journal-lock.js';
export * from './journal-reader.js';
export * from './journal-record.js';
export * from './journal-writer.js';
export * from './tolerant-dialect.js';
export * from './wake.js';

/** What a `file:` URL says: the directory, the role, the mode and the end's name. */
export interface FileUrl {
  dir: string;
  role: ChannelRole | undefined;
  mode: FileChannelMode;
  name: string | undefined;
}

/**
 * Parses `file:///dir?role=backend|frontend&mode=ipckit|journal&name=…`.
 * @throws IpcError INVALID_ARGUMENT.
 */
export function parseFileUrl(url: URL): FileUrl {
  if (url.protocol !== 'file:') throw new IpcError('INVALID_ARGUMENT', `not a file: URL: ${url.href}`);
  const dir = decodeURIComponent(url.pathname);
  if (!dir || dir === '/') throw new IpcError('INVALID_ARGUMENT', `file URL has no directory: ${url.href}`);
  const role = url.searchParams.get('role') ?? undefined;
  if (role !== undefined && role !== 'backend' && role !== 'frontend')
    throw new IpcError('INVALID_ARGUMENT', `file URL role must be backend or frontend: ${role}`);
  const mode = url.searchParams.get('mode') ?? 'ipckit';
  if (mode !== 'ipckit' && mode !== 'journal')
    throw new IpcError('INVALID_ARGUMENT', `file URL mode must be ipckit or journal: ${mode}`);
  return {
    dir: dir.length > 1 ? dir.replace(/\/+$/, '') : dir,
    role,
    mode,
    name: url.searchParams.get('name') ?? undefined,
  };
}

/**
 * What `connect('file://…')` and `listen('file://…')` take besides the client's or server's: a
 * file link's options, except the mode and the end's name (from the URL).
 */
export type FileUrlOptions = Omit<FileLinkOptions, 'mode' | 'name' | 'onError'>;

const { mode: _mode, name: _name, onError: _onError, ...urlOptionNames } = fileLinkOptionNames;
const connectOptionNames: OptionNames<ConnectOptions & FileUrlOptions> = {
  ...CONNECT_OPTION_NAMES,
  ...urlOptionNames,
};
const listenOptionNames: OptionNames<ListenOptions & FileUrlOptions> = {
  ...LISTEN_OPTION_NAMES,
  ...urlOptionNames,
};

function linkOptions(
  parsed: FileUrl,
  options: FileUrlOptions,
  onError: FileLinkOptions['onError'],
): FileLinkOptions {
  const out: FileLinkOptions = { ...options, mode: parsed.mode, onError };
  if (parsed.name !== undefined) out.name = parsed.name;
  return out;
}

/**
 * `listen(url)` serves the backend end (requests written by frontends), `connect(url)` is a
 * frontend client; `role=` in the URL picks the other end for either (ipckit's own examples
 * send requests from the backend). Both take {@link FileUrlOptions} besides the client's or
 * server's.
 */
export const fileTransport: TransportFactory<FileUrlOptions, FileUrlOptions> = {
  name: 'file',
  schemes: ['file'],
  dialects: ['ipckit', 'msgpack', 'openclaw-ipc'],
  optionNames: { connect: Object.keys(connectOptionNames), listen: Object.keys(listenOptionNames) },

  async connect<C extends Contract = AnyContract>(
    url: URL,
    options: ConnectOptions<C> & FileUrlOptions = {},
  ) {
    checkOptions(options, connectOptionNames, 'file connect()');
    const parsed = parseFileUrl(url);
    const onError = (e: IpcError) => options.onError?.(e);
    const dialect = skipUndecodable(
      resolveDialect(options.dialect, fileDialects[parsed.mode], 'file'),
      onError,
    );
    return RpcClient.connect<C>({
      ...options,
      maxInFlight: options.maxInFlight ?? defaultMaxInFlight(parsed.mode),
      dialect,
      link: () => openFileLink(parsed.dir, parsed.role ?? 'frontend', linkOptions(parsed, options, onError)),
    });
  },

  async listen<C extends Contract = AnyContract>(url: URL, options: ListenOptions<C> & FileUrlOptions = {}) {
    checkOptions(options, listenOptionNames, 'file listen()');
    const parsed = parseFileUrl(url);
    const onError = (e: IpcError) => options.onError?.(e);
    const dialect = skipUndecodable(
      resolveDialect(options.dialect, fileDialects[parsed.mode], 'file'),
      onError,
    );
    const server = new RpcServer<C>({ ...options, dialect });
    server.serve(
      await FileListener.open(parsed.dir, {
        ...linkOptions(parsed, options, onError),
        role: parsed.role ?? 'backend',
      }),
    );
    return server;
  },
};
