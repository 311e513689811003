/**
 * A Unix-domain socket listener. The socket file is created with mode 0600. A path that exists
 * is only ever removed when it is a socket nobody answers on (stale); a regular file, a
 * directory or a live socket there is an error. The file is removed on close, and only if it
 * is still the socket we created (same inode).
 *
 * libuv unlinks the path it bound when the server closes, whatever is there by then. So the
 * socket is bound under a temporary sibling name and linked into place (link() never replaces
 * anything): libuv's unlink then targets the temporary name, and our close decides about the
 * real path.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isMainThread } from 'node:worker_threads';
import { IpcError, type Link, type LinkListener } from '@openclaw-ipc/core';
import { regionReads, SocketLink, type SocketLinkOptions } from './socket-link.js';

export interface UnixListenOptions extends SocketLinkOptions {
  /** Connections accepted at once; more are closed at accept. Default 1024. */
  maxConnections?: number;
  /** Mode of the socket file. Default 0o600. */
  mode?: number;
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

/** A sibling of `path` to bind under before renaming into place, or `path` if none fits. */
function bindPathFor(path: string): string {
  const temp = `${path}.${randomBytes(3).toString('hex')}~`;
  return Buffer.byteLength(temp) <= MAX_SOCKET_PATH ? temp : path;
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

  /** Listens on `path`. Rejects with INVALID_ARGUMENT or UNAVAILABLE (see the class comment). */
  static async listen(path: string, options: UnixListenOptions = {}): Promise<UnixListener> {
    await clearStaleSocket(path);
    const server = createServer({ pauseOnConnect: true });
    const listener = new UnixListener(server, path, options);
    server.maxConnections = options.maxConnections ?? 1024;
    server.on('connection', (socket) => listener.accept(socket));
    const mode = options.mode ?? 0o600;
    const bindPath = bindPathFor(path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new IpcError('UNAVAILABLE', `cannot listen on ${path}: ${err.code ?? err.message}`, { cause: err }),
        ),
      );
      // bind() creates the file with the umask's mode; narrow it for that call so the socket
      // is never reachable by others, then set the exact mode.
      const previous = isMainThread ? process.umask(0o777 & ~mode) : undefined;
      try {
        server.listen(bindPath, () => resolve());
      } finally {
        if (previous !== undefined) process.umask(previous);
      }
    });
    try {
      chmodSync(bindPath, mode);
      if (bindPath !== path) {
        // link() fails if anything appeared at `path` meanwhile: nothing there is replaced.
        linkSync(bindPath, path);
        unlinkSync(bindPath);
      }
      const stat = lstatSync(path);
      listener.inode = { dev: stat.dev, ino: stat.ino };
    } catch (err) {
      server.close();
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

export interface UnixConnectOptions extends SocketLinkOptions {
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
    const timeout = options.connectTimeout ?? 10_000;
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
