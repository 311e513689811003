/**
 * Loads the Node-API addon this package carries (prebuilds/<platform>-<arch>/verbs.napi.<libc>.node,
 * built from native/verbs by `node native/verbs/build.mjs`) on first use, and declares its whole
 * surface. See native/verbs/README.md for the design.
 *
 * ## The surface
 *
 * Addresses are bigint; keys are u32 numbers; lengths are numbers. Every failure is an Error
 * whose `code` is one of {@link NativeErrorName}; {@link toIpcError} maps it to an IpcError.
 *
 * - `crc32c(bytes, seed = 0) -> number`: CRC32C (Castagnoli). Chaining:
 *   `crc32c(b, crc32c(a)) === crc32c(a ++ b)`. SSE4.2 when the CPU has it (`crc32cHardware()`).
 * - `crc32cCopy(dst, src, seed = 0) -> number`: copies `src` into the start of `dst` and
 *   returns the CRC32C of the bytes, in one pass (each 8 bytes loaded once, checksummed and
 *   stored); EINVAL when `dst` is shorter.
 * - `monotonicNs() -> bigint`: CLOCK_MONOTONIC now, the clock of `expiresNs`.
 * - `table(capacity?) -> TableInfo`: the process-wide registration table (a sealed memfd
 *   mapping of 64-byte seqlock slots), created on first use; the first call fixes the capacity
 *   (default 4096, a power of two). Creating it also calls PR_SET_PTRACER(ANY) where Yama exists
 *   so cma peers of the same uid may read us.
 * - `register(bytes, access = READ, expiresNs = 0n) -> Region`: publishes `bytes` (any
 *   Uint8Array; inside an arena's buffer it is readable over shm too) under a fresh key.
 *   `region.close()` or garbage collection deregisters it (peers then get EKEY). The region
 *   keeps `bytes` alive while registered.
 * - `allocate(size) -> Arena`: a memfd arena (page-rounded, sealed against resizing) mapped
 *   shared; `arena.buffer` is its memory. The arena stays open while its buffer lives (GC of
 *   the buffer closes it); `arena.close()` closes it at once: deregisters all registrations
 *   inside it and stops serving its fd (the mapping lives while the buffer does).
 * - `receiveBuffer(size) -> Buffer`: memory for a large rendezvous read (contents unspecified,
 *   like Buffer.allocUnsafe): an anonymous mapping rounded up to 2 MiB, advised for transparent
 *   huge pages and populated before it is returned, so the copy into it does not fault page by
 *   page. When the Buffer is garbage-collected its mapping goes to a process-wide cache (bounded
 *   by `receiveCache` limit, default 256 MiB) and is handed out again for a size it fits (at
 *   most twice the size asked). `receiveCache(limit?)` sets the limit (0: no cache; lowering it
 *   unmaps what is over) and returns `{limit, bytes, buffers, hits, misses}`.
 * - `cmaPeer(pid, tableAddr, asyncThreshold = 1 MiB) -> CmaPeer`: reads the peer's table
 *   header (EPERM/ESRCH/EPROTO when it cannot). `read(key, remoteAddr, length, into, intoOffset,
 *   flags?)` resolves with the byte count, or with the CRC32C of the bytes when
 *   `flags & COPY_CRC`; `write(key, remoteAddr, length, from, fromOffset)` needs a WRITE
 *   registration. Copies of `asyncThreshold` bytes or more run on the thread pool; smaller
 *   ones run at once (the Promise is already settled). `readSync`/`writeSync` run on the
 *   calling thread and return the same value or throw.
 * - `peerCredentials(fd) -> {pid, uid, gid}`: SO_PEERCRED of a connected Unix socket (for a
 *   SocketLink: `link.peerCredentials(peerCredentials)`, which finds the descriptor).
 * - `shmServe(path, maxConnections = 64) -> ShmServer`: an addon-owned Unix socket (mode 0600,
 *   polled on the JS thread) that hands this process' table and arena memfds to peers of the
 *   same uid (SO_PEERCRED checked) with SCM_RIGHTS. `close()` unlinks it; so does the
 *   object being garbage-collected, which also drops its connections: keep it referenced.
 * - `shmAttach(path, maxArenas = 1024, asyncThreshold = 1 MiB) -> Promise<ShmPeer>`: connects,
 *   maps the peer's table read-only; `read`/`write` as CmaPeer's (remoteAddr is the owner's
 *   address, `region.addr`, exactly as for cma); arenas are fetched on first use and cached.
 *   `peer.onclose` is called once when the peer's server goes away; later reads fail ESRCH.
 * - `verbs`: the verbs provider's native half (typed in packages/rdma/src/providers/verbs.ts)
 *   when compiled in.
 *
 * Closing a peer settles its pending copies (ECLOSED); the env cleanup hook closes servers
 * (unlinking their sockets) and peers at exit.
 */
import { IpcError, type IpcErrorCode, nativeAddonLoader } from '@openclaw-ipc/core';

/** Access bits of a registration. */
export const ACCESS_READ = 1;
export const ACCESS_WRITE = 2;
/** read() flag: resolve with the CRC32C of the bytes, computed while copying. */
export const COPY_CRC = 1;

/** The `code` of the addon's errors. */
export type NativeErrorName =
  | 'EKEY'
  | 'ERANGE'
  | 'EACCES'
  | 'EEXPIRED'
  | 'ECHANGED'
  | 'EPERM'
  | 'ESRCH'
  | 'ECLOSED'
  | 'EINVAL'
  | 'ENOSYS'
  | 'EPROTO'
  | 'EIO'
  | 'ENOTSHM'
  | 'ECAPACITY';

/**
 * IpcError code of each native error: a bad or stale descriptor is AUTH (no valid, unexpired
 * registration allows the access), a peer that is gone or a closed handle CLOSED, what the OS
 * refuses UNAVAILABLE.
 */
export const NATIVE_ERROR_CODES: Readonly<Record<NativeErrorName, IpcErrorCode>> = {
  EKEY: 'AUTH',
  EACCES: 'AUTH',
  EEXPIRED: 'AUTH',
  ERANGE: 'INVALID_ARGUMENT',
  EINVAL: 'INVALID_ARGUMENT',
  ENOTSHM: 'INVALID_ARGUMENT',
  ECHANGED: 'CLOSED',
  ESRCH: 'CLOSED',
  ECLOSED: 'CLOSED',
  EPERM: 'UNAVAILABLE',
  ENOSYS: 'UNAVAILABLE',
  EIO: 'UNAVAILABLE',
  EPROTO: 'PROTOCOL',
  ECAPACITY: 'CAPACITY',
};

/** An Error thrown or rejected by the addon. */
export interface NativeError extends Error {
  code: NativeErrorName;
  errno?: number;
}

export interface TableInfo {
  readonly pid: number;
  /** Where the table is mapped in this process (what cma peers read). */
  readonly addr: bigint;
  readonly capacity: number;
  /** The table's memfd (what shm peers map). */
  readonly fd: number;
  /** Slots in use. */
  readonly used: number;
}

export interface Region {
  readonly key: number;
  /** This process' address of the first byte: the `remoteAddr` peers read at (cma and shm). */
  readonly addr: bigint;
  readonly length: number;
  /** The arena holding the bytes, 0 when they are plain process memory (not readable over shm). */
  readonly arenaId: number;
  readonly arenaOffset: number;
  readonly access: number;
  readonly expiresNs: bigint;
  /** False once closed (or its arena closed). */
  readonly live: boolean;
  /** Deregisters; idempotent. */
  close(): void;
}

export interface Arena {
  readonly buffer: Buffer;
  readonly id: number;
  readonly fd: number;
  /** Bytes (the requested size rounded up to pages). */
  readonly size: number;
  close(): void;
}

/** One-sided access to one peer's registered memory. Results: see the file comment. */
export interface NativePeer {
  read(
    key: number,
    remoteAddr: bigint,
    length: number,
    into: Uint8Array,
    intoOffset: number,
    flags?: number,
  ): Promise<number>;
  write(
    key: number,
    remoteAddr: bigint,
    length: number,
    from: Uint8Array,
    fromOffset: number,
  ): Promise<number>;
  /** Settles pending copies with ECLOSED; idempotent. */
  close(): void;
}

export interface CmaPeer extends NativePeer {
  readonly pid: number;
  readonly capacity: number;
  readSync(
    key: number,
    remoteAddr: bigint,
    length: number,
    into: Uint8Array,
    intoOffset: number,
    flags?: number,
  ): number;
  writeSync(key: number, remoteAddr: bigint, length: number, from: Uint8Array, fromOffset: number): number;
}

export interface ShmPeer extends NativePeer {
  /** The serving process (SO_PEERCRED of the fd socket). */
  readonly pid: number;
  readonly capacity: number;
  /** Called once when the connection to the peer's server ends (peer exit or close). */
  onclose?: (err: NativeError) => void;
}

export interface ShmServer {
  readonly path: string;
  /** Stops serving and unlinks the socket; idempotent. */
  close(): void;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** State of the process-wide cache of receive buffers (`receiveCache()`); sizes in bytes. */
export interface ReceiveCacheInfo {
  limit: number;
  bytes: number;
  buffers: number;
  hits: number;
  misses: number;
}

/** The addon as loaded. `verbs` is the verbs provider's native object (typed in providers/verbs.ts). */
export interface VerbsAddon {
  crc32c(bytes: Uint8Array | ArrayBuffer | DataView, seed?: number): number;
  crc32cHardware(): boolean;
  crc32cCopy(dst: Uint8Array, src: Uint8Array, seed?: number): number;
  monotonicNs(): bigint;
  table(capacity?: number): TableInfo;
  register(bytes: Uint8Array, access?: number, expiresNs?: bigint | number): Region;
  allocate(size: number): Arena;
  receiveBuffer(size: number): Buffer;
  receiveCache(limit?: number): ReceiveCacheInfo;
  cmaPeer(pid: number, tableAddr: bigint, asyncThreshold?: number): CmaPeer;
  peerCredentials(fd: number): PeerCredentials;
  shmServe(path: string, maxConnections?: number): ShmServer;
  shmAttach(path: string, maxArenas?: number, asyncThreshold?: number): Promise<ShmPeer>;
  verbs?: unknown;
}

/**
 * The addon, loaded once.
 * @throws IpcError UNAVAILABLE when the package has no addon for this platform or it cannot load.
 */
export const loadNative = nativeAddonLoader<VerbsAddon>({
  from: import.meta.url,
  packageName: '@openclaw-ipc/rdma',
  name: 'verbs',
  envVar: 'OPENCLAW_VERBS_ADDON',
  buildCommand: 'npx openclaw-ipc-build-rdma',
  hint: ' (it needs a C compiler; Linux only)',
});

/** True when `err` came from the addon (has one of its codes). */
export function isNativeError(err: unknown): err is NativeError {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code in NATIVE_ERROR_CODES;
}

/**
 * The IpcError for an addon error: code from {@link NATIVE_ERROR_CODES}, the native name in
 * `details.reason` (and `details.errno` when the OS gave one). IpcErrors pass through; anything
 * else becomes `fallback`.
 */
export function toIpcError(err: unknown, fallback: IpcErrorCode = 'UNAVAILABLE'): IpcError {
  if (err instanceof IpcError) return err;
  if (isNativeError(err)) {
    return new IpcError(NATIVE_ERROR_CODES[err.code], err.message, {
      cause: err,
      details: err.errno === undefined ? { reason: err.code } : { reason: err.code, errno: err.errno },
    });
  }
  return IpcError.from(err, fallback);
}
