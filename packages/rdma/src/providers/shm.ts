/**
 * The shm provider: shared memory between processes of one host. Rendezvous payloads live in
 * memfd arenas (MAP_SHARED); the arena and registration-table fds go to the peer over an
 * addon-owned Unix socket beside the control socket (`<control path>.shm`, SCM_RIGHTS, peer
 * uid checked), the peer maps them once and reads by copying out of its mapping after checking
 * the table slot (key, range, access, expiry, seqlock) — all inside the native addon.
 *
 * Arenas are pooled by size class (powers of two from 64 KiB): allocate() hands out a free
 * arena of the class, and the arena goes back to the pool when its registration is closed, so
 * a steady stream of large messages maps no new memory and passes no new fds.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcError } from '@openclaw-ipc/core';
import type { Arena } from '../native.js';
import { native, tryNative } from '../native-bridge.js';
import { readRange, registerInTable } from './common.js';
import {
  type Availability,
  type LocalRegion,
  type OpenOptions,
  type PeerContext,
  type ProviderEndpoint,
  probeOnce,
  providerError,
  type RdmaProvider,
  type RegisterOptions,
  type RemotePeer,
  unavailableError,
} from './provider.js';

/** Smallest arena: 64 KiB. */
const MIN_CLASS = 16;
/** Free arena bytes kept per endpoint for reuse. */
const POOL_BYTES = 512 * 1024 * 1024;

function probe(): Availability {
  const n = tryNative();
  if ('error' in n) return { available: false, reason: n.error.message, errno: 'ENOENT' };
  if (process.platform !== 'linux')
    return { available: false, reason: 'memfd_create is Linux only', errno: 'ENOSYS' };
  try {
    n.addon.allocate(4096).close();
  } catch (err) {
    return {
      available: false,
      reason: `cannot create a shared memory arena: ${(err as Error).message}`,
      errno: (err as { code?: string }).code ?? 'EIO',
    };
  }
  return { available: true, detail: 'memfd + SCM_RIGHTS' };
}

const sizeClass = (size: number): number => Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, size))));

class ShmEndpoint implements ProviderEndpoint {
  readonly provider = 'shm' as const;
  readonly registersAnyMemory = false;
  /** Free arenas by size class. */
  private readonly free = new Map<number, Arena[]>();
  private freeBytes = 0;
  /** Arenas handed out by allocate(), by their memory. */
  private readonly handedOut = new WeakMap<ArrayBufferLike, Arena>();
  private readonly regions = new Set<LocalRegion>();
  private readonly all = new Set<Arena>();
  private closed = false;

  constructor(
    private readonly server: { close(): void },
    readonly path: string,
  ) {}

  handshake(): Record<string, unknown> {
    return { path: this.path };
  }

  allocate(size: number): Uint8Array {
    if (this.closed) throw new IpcError('CLOSED', 'rdma shm endpoint closed');
    const cls = sizeClass(size);
    let arena = this.free.get(cls)?.pop();
    if (arena) this.freeBytes -= arena.size;
    else {
      try {
        arena = native().allocate(2 ** cls);
      } catch (err) {
        throw providerError('shm', err, 'allocate');
      }
      this.all.add(arena);
    }
    this.handedOut.set(arena.buffer.buffer, arena);
    return arena.buffer.subarray(0, size);
  }

  register(bytes: Uint8Array, options: RegisterOptions = {}): LocalRegion {
    if (this.closed) throw new IpcError('CLOSED', 'rdma shm endpoint closed');
    const arena = this.handedOut.get(bytes.buffer);
    return registerInTable('shm', bytes, options, this.regions, arena && (() => this.recycle(arena)));
  }

  async connect(peer: PeerContext): Promise<RemotePeer> {
    const path = peer.handshake.path;
    if (typeof path !== 'string' || path.length === 0 || path.length > 107)
      throw new IpcError('PROTOCOL', 'rdma shm handshake: path is missing');
    let p: Awaited<ReturnType<ReturnType<typeof native>['shmAttach']>>;
    try {
      p = await native().shmAttach(path);
    } catch (err) {
      throw providerError('shm', err, 'attach');
    }
    return {
      read: (d, into, intoOffset = 0, range) => readRange('shm', p, d, into, intoOffset, range),
      close: () => p.close(),
    };
  }

  private recycle(arena: Arena): void {
    this.handedOut.delete(arena.buffer.buffer);
    if (this.closed || this.freeBytes + arena.size > POOL_BYTES) {
      this.all.delete(arena);
      arena.close();
      return;
    }
    const cls = Math.log2(arena.size);
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(arena);
    this.freeBytes += arena.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of [...this.regions]) r.close();
    for (const a of this.all) a.close();
    this.all.clear();
    this.free.clear();
    this.server.close();
  }
}

export const shmProvider: RdmaProvider = {
  name: 'shm',
  availability: probeOnce(probe),
  async open(options: OpenOptions): Promise<ProviderEndpoint> {
    const a = this.availability();
    if (!a.available) throw unavailableError('shm', a);
    const path = options.controlPath
      ? `${options.controlPath}.shm`
      : join(tmpdir(), `oc-rdma-${process.pid}-${randomBytes(4).toString('hex')}.shm`);
    let server: { close(): void };
    try {
      server = native().shmServe(path);
    } catch (err) {
      throw providerError('shm', err, 'serve');
    }
    return new ShmEndpoint(server, path);
  },
};
