/**
 * A Unix-domain socket listener. The socket file has mode `socketMode` (0600 by default) whatever
 * the process umask, and the folder it is created in must not let another user replace it
 * (docs/security.md). A path that exists is only ever removed when it is a socket nobody answers
 * on (stale); a regular file, a directory or a live socket there is an error. The file is removed
 * on close, and only if it is still the socket we created (same inode).
 *
 * The socket is bound in a private staging folder (mode 0700) beside `path`, given its mode, and
 * linked into place (link() never replaces anything): nobody else can connect before the mode is
 * set, and libuv, which unlinks the path it bound when the server closes, only ever unlinks the
 * staging name; our close decides about the real path.
 */
import { chmodSync, linkSync, lstatSync, mkdtempSync, rmdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import {
  accessMode,
  checkSocketFolder,
  DEFAULT_LIMITS,
  IpcError,
  type Link,
  type LinkListener,
  type SocketAccessOptions,
} from '@openclaw-ipc/core';
import { regionReads, SocketLink, type SocketLinkOptions } from './socket-link.js';

/** Options of a unix listener (and of `listen('unix://…')` besides the server's). */
export interface UnixListenOptions extends SocketLinkOptions, SocketAccessOptions {
  /** Connections accepted at once; more are closed at accept. Default 1024. */
  maxConnections?: number;
}

/** Whether something accepts connections on the socket at `path`. */
export function probeSocket(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), timeoutMs); // slow to answer is still alive
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let stat: import('node:fs').Stats;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new IpcError('UNAVAILABLE', `cannot inspect ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!stat.isSocket()) {
    throw new IpcError('INVALID_ARGUMENT', `${path} exists and is not a socket; refusing to remove it`);
  }
  if (await probeSocket(path)) {
    throw new IpcError('UNAVAILABLE', `${path} is in use: a server answers on it`, { details: { path } });
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw IpcError.from(err, 'UNAVAILABLE');
  }
}

/** Longest socket path the kernel takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;
const STAGING_PREFIX = '.oc-';

/** Where to bind before linking into place: a new private folder beside `path` when its name fits. */
function stagingFor(path: string): { folder: string; bindPath: string } | undefined {
  const folderLength = Buffer.byteLength(join(dirname(path), `${STAGING_PREFIX}XXXXXX`));
  if (folderLength + 2 > MAX_SOCKET_PATH) return undefined;
  const folder = mkdtempSync(join(dirname(path), STAGING_PREFIX)); // 0700 at most, whatever the umask
  return { folder, bindPath: join(folder, 's') };
}

function removeStaging(staging: { folder: string; bindPath: string } | undefined): void {
  if (!staging) return;
  try {
    unlinkSync(staging.bindPath);
  } catch {
    // not bound, or already linked and removed
  }
  try {
    rmdirSync(staging.folder);
  } catch {
    // gone already
  }
}

export class UnixListener implements LinkListener {
  readonly address: string;
  private handler: ((link: Link) => void) | undefined;
  private readonly links = new Set<SocketLink>();
  private closed = false;
  /** Identity of the socket file we created. */
  private inode: { dev: number; ino: number } | undefined;

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly options: UnixListenOptions,
  ) {
    this.address = `unix://${path}`;
  }

  /**
   * Listens on `path`. Rejects with INVALID_ARGUMENT (a bad `socketMode`, something else at
   * `path`), AUTH (a folder another user could replace the socket in) or UNAVAILABLE.
   */
  static async listen(path: string, options: UnixListenOptions = {}): Promise<UnixListener> {
    const mode = accessMode(options.socketMode, 'socketMode');
    checkSocketFolder(path, options);
    await clearStaleSocket(path);
    const server = createServer({ pauseOnConnect: true });
    const listener = new UnixListener(server, path, options);
    server.maxConnections = options.maxConnections ?? DEFAULT_LIMITS.maxConnections;
    server.on('connection', (socket) => listener.accept(socket));
    let staging: ReturnType<typeof stagingFor>;
    try {
      staging = stagingFor(path);
    } catch (err) {
      throw new IpcError('UNAVAILABLE', `cannot listen on ${path}: ${(err as NodeJS.ErrnoException).code}`, {
        cause: err,
      });
    }
    const bindPath = staging?.bindPath ?? path;
    try {
      await bindServer(server, path, bindPath, mode, staging === undefined);
      chmodSync(bindPath, mode);
      if (staging) {
        // link() fails if anything appeared at `path` meanwhile: nothing there is replaced.
        linkSync(bindPath, path);
        removeStaging(staging);
      }
      const stat = lstatSync(path);
      listener.inode = { dev: stat.dev, ino: stat.ino };
    } catch (err) {
      server.close();
      removeStaging(staging);
      if (IpcError.is(err)) throw err;
      throw new IpcError('UNAVAILABLE', `cannot set up ${path}: ${(err as Error).message}`, { cause: err });
    }
    server.on('error', () => {});
    return listener;
  }

  onLink(handler: (link: Link) => void): void {
    this.handler = handler;
  }

  /** Accepted links still open. */
  get size(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of [...this.links]) link.close();
    await done;
    try {
      // Only our own socket: the inode we created is still at the path.
      const stat = lstatSync(this.path);
      if (stat.isSocket() && stat.ino === this.inode?.ino && stat.dev === this.inode?.dev)
        unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private accept(socket: Socket): void {
    if (this.closed || !this.handler) {
      socket.destroy();
      return;
    }
    const link = new SocketLink(socket, this.options, 'unix', this.address);
    this.links.add(link);
    socket.once('close', () => this.links.delete(link));
    this.handler(link);
  }
}

/**
 * Binds `server` at `bindPath`. Without a staging folder (a path too long for one) the socket
 * appears at its final path before its mode is set, so the umask is narrowed around bind()
 * where the process may change it (the main thread).
 */
function bindServer(
  server: Server,
  path: string,
  bindPath: string,
  mode: number,
  exposed: boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new IpcError('UNAVAILABLE', `cannot listen on ${path}: ${err.code ?? err.message}`, { cause: err }),
      ),
    );
    const previous = exposed && isMainThread ? process.umask(0o777 & ~mode) : undefined;
    try {
      server.listen(bindPath, () => resolve());
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
  });
}

/** Options of a unix dial (and of `connect('unix://…')` besides the client's). */
export interface UnixConnectOptions extends Omit<SocketLinkOptions, 'sequential'> {
  /** Milliseconds to wait for the connection. Default 10 000. */
  connectTimeout?: number;
}

/** Dials `path` once. Rejects with CONNECT (nobody there), TIMEOUT or ABORTED. */
export function connectUnix(
  path: string,
  options: UnixConnectOptions = {},
  signal?: AbortSignal,
): Promise<SocketLink> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new IpcError('ABORTED', 'connect aborted'));
    let link: SocketLink | undefined;
    const socket = connect({ path, onread: regionReads(() => link) });
    socket.pause();
    const timeout = options.connectTimeout ?? DEFAULT_LIMITS.connectTimeout;
    const timer = setTimeout(
      () => fail(new IpcError('TIMEOUT', `connect to ${path} timed out after ${timeout} ms`)),
      timeout,
    );
    const onAbort = () => fail(new IpcError('ABORTED', 'connect aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
    };
    const fail = (err: IpcError) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException) =>
      fail(
        new IpcError('CONNECT', `cannot connect to unix://${path}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    socket.once('error', onError);
    socket.once('connect', () => {
      cleanup();
      link = new SocketLink(socket, options, 'unix', `unix://${path}`, true);
      resolve(link);
    });
  });
}
