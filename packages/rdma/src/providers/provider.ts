/**
 * The one interface every RDMA provider implements (shm, cma, verbs), in the manner of UCX's
 * transports: register a local region (a handle with a packed remote key), describe it to the
 * peer, read a remote region into a local buffer one-sidedly, completion as a Promise.
 *
 * Lifecycle, for one process:
 *
 *   const provider = shmProvider;                       // a module-level singleton
 *   const avail = provider.availability();              // { available: false, reason } when it cannot work here
 *   const local = await provider.open({ role: 'server', controlPath });   // once per listener / client
 *   const hello = local.handshake();                    // goes to the peer in our control handshake
 *   const peer = await local.connect({ handshake: peerHello, pid, role }); // once per control connection
 *   const region = local.register(bytes, { access: ACCESS_READ, ttlMs: 30_000 });
 *   // send region.descriptor to the peer; the peer does:
 *   await peer.read(descriptor, into, 0);               // one-sided, checked by the provider
 *   region.close();                                     // deregisters; later reads fail with EKEY
 *
 * Errors: every failure is an IpcError (packages/core) with a stable code. Providers map their
 * native error names to codes with {@link providerError}; the native name stays readable in
 * `details.reason` (e.g. 'EKEY', 'ERANGE', 'EEXPIRED', 'ECHANGED', 'EPERM', 'ESRCH', 'ENOSYS').
 */
import { IpcError, type IpcErrorCode } from '@openclaw-ipc/core';
import { NATIVE_ERROR_CODES as ADDON_ERROR_CODES } from '../native.js';

/** The providers there are. */
export type ProviderName = 'shm' | 'cma' | 'verbs';

/** Access rights of a registered region (the bits of the native table's `access` field). */
export const ACCESS_READ = 1;
export const ACCESS_WRITE = 2;

/** Whether a provider can work on this machine, and why not. */
export type Availability =
  | { readonly available: true; readonly detail?: string }
  | {
      readonly available: false;
      /** Human-readable and specific: what was tried and what the system answered. */
      readonly reason: string;
      /** The native error name when there is one ('ENOSYS', 'ENODEV', 'ENOENT' for a missing library, …). */
      readonly errno?: string;
    };

/**
 * What travels to the peer so it can read a region: small, plain values only (it is encoded
 * with msgpack on the control channel; bigint travels as a u64).
 */
export interface RegionDescriptor {
  readonly provider: ProviderName;
  /** The remote key: the table key (shm, cma) or the MR's rkey (verbs). u32. */
  readonly key: number;
  /**
   * Where the bytes are in the owner's space: a virtual address (cma, verbs) or the offset
   * inside the arena (shm). u64.
   */
  readonly addr: bigint;
  /** Bytes readable from `addr`. */
  readonly length: number;
  /** shm only: the arena holding the bytes. */
  readonly arena?: number;
}

export interface RegisterOptions {
  /** ACCESS_READ (default), ACCESS_WRITE, or both OR'ed. */
  readonly access?: number;
  /**
   * Milliseconds after which the registration stops being readable even if not closed (the
   * reader sees EEXPIRED). 0 or undefined: never.
   */
  readonly ttlMs?: number;
}

/** A registered local region. Closing it (or losing it to the GC) deregisters it. */
export interface LocalRegion {
  readonly descriptor: RegionDescriptor;
  /** The registered bytes (shm: a view into the shared arena). */
  readonly bytes: Uint8Array;
  /** Deregisters; safe to call twice. Afterwards a peer's read fails with EKEY. */
  close(): void;
}

/** How the control channel met the peer, given to {@link ProviderEndpoint.connect}. */
export interface PeerContext {
  /** What the peer's {@link ProviderEndpoint.handshake} returned. */
  readonly handshake: Readonly<Record<string, unknown>>;
  /** Which side of the control connection we are. */
  readonly role: 'client' | 'server';
  /** The peer's pid from SO_PEERCRED of the control socket (same-host control channels only). */
  readonly pid?: number;
  /** The peer's uid from SO_PEERCRED. */
  readonly uid?: number;
  /** The peer's host as the control connection sees it (verbs over TCP). */
  readonly host?: string;
  readonly signal?: AbortSignal;
}

/** The one-sided view of one peer's registered memory. */
export interface RemotePeer {
  /**
   * Reads `descriptor.length` bytes (or `range.length` from `descriptor.addr + range.offset`)
   * into `into` at `intoOffset`. Resolves with the CRC32C of the bytes when the provider
   * computes it while copying (shm, cma), with nothing otherwise. Rejects with an IpcError (see
   * {@link providerError}); on rejection the bytes of `into` in the range are unspecified.
   */
  read(
    descriptor: RegionDescriptor,
    into: Uint8Array,
    intoOffset?: number,
    range?: { offset: number; length: number },
  ): Promise<number | undefined | void>;
  /** Writes into a region the peer registered with ACCESS_WRITE (providers that support it). */
  write?(
    descriptor: RegionDescriptor,
    from: Uint8Array,
    range?: { offset: number; length: number },
  ): Promise<void>;
  /** Frees what was set up for this peer (mappings, queue pairs). Safe to call twice. */
  close(): void;
}

export interface OpenOptions {
  readonly role: 'client' | 'server';
  /**
   * The control socket's path (unix control channel). shm serves its fd socket beside it
   * (`<controlPath>.shm`); a client without a listening path gets one in os.tmpdir().
   */
  readonly controlPath?: string;
  /** verbs: the address to listen on / that the control channel listens on. */
  readonly host?: string;
  /** verbs: the port for the RDMA CM (0: chosen by the system and reported in the handshake). */
  readonly port?: number;
  /** Registration table slots (native table capacity); default 4096. */
  readonly capacity?: number;
}

/** One process' endpoint of a provider: registers local memory and connects to peers. */
export interface ProviderEndpoint {
  readonly provider: ProviderName;
  /**
   * Whether register() takes any memory (cma, verbs: true, the default when absent) or only
   * memory from allocate() (shm: false). The rendezvous registers a large message in place when
   * true and copies it into allocate()d memory when false.
   */
  readonly registersAnyMemory?: boolean;
  /**
   * What a peer needs to reach our memory, sent in the control handshake (plain values:
   * numbers, strings, bigint, booleans). E.g. cma: {pid, tableAddr}; shm: {path}; verbs:
   * {host, port}.
   */
  handshake(): Record<string, unknown>;
  /**
   * Memory suited for registration of `size` bytes: shm returns a view into a shared arena
   * (so no extra copy is needed to make bytes readable), others a plain Buffer. The memory is
   * owned by the caller until registered.
   */
  allocate(size: number): Uint8Array;
  /** Registers `bytes` (from allocate() for shm; any buffer for cma and verbs). */
  register(bytes: Uint8Array, options?: RegisterOptions): LocalRegion;
  /** Sets up the one-sided path to the peer met on a control connection. */
  connect(peer: PeerContext): Promise<RemotePeer>;
  /** Deregisters everything, closes sockets, unlinks files. Safe to call twice. */
  close(): Promise<void> | void;
}

/**
 * The UNAVAILABLE error of a provider that cannot work here. As for native errors,
 * `details.reason` is the native name (ENODEV when the probe named none); `details.message`
 * is what was tried and what the system answered.
 */
export function unavailableError(provider: ProviderName, a: Availability & { available: false }): IpcError {
  return new IpcError('UNAVAILABLE', `rdma provider ${provider} is unavailable: ${a.reason}`, {
    details: { provider, reason: a.errno ?? 'ENODEV', message: a.reason },
  });
}

/** A provider's availability(): `probe` runs once, on the first call. */
export function probeOnce(probe: () => Availability): () => Availability {
  let cached: Availability | undefined;
  return () => {
    cached ??= probe();
    return cached;
  };
}

/** A provider: a module-level singleton. */
export interface RdmaProvider {
  readonly name: ProviderName;
  /** Cheap after the first call (cached). Never throws. */
  availability(): Availability;
  /** Rejects with IpcError UNAVAILABLE (details.reason) when availability() says no. */
  open(options: OpenOptions): Promise<ProviderEndpoint>;
}

/**
 * Native error names and the IpcError code each becomes (details.reason keeps the native
 * name): the addon's table (./native.ts), plus ENODEV for verbs without a device.
 */
export const NATIVE_ERROR_CODES: Readonly<Record<string, IpcErrorCode>> = {
  ...ADDON_ERROR_CODES,
  ENODEV: 'UNAVAILABLE',
};

/**
 * Turns a native failure (an Error whose `code` is a native name as above, or an errno name)
 * into an IpcError with a stable code. IpcErrors pass through unchanged.
 */
export function providerError(provider: ProviderName, cause: unknown, what = 'read'): IpcError {
  if (cause instanceof IpcError) return cause;
  const native =
    typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string'
      ? ((cause as { code: string }).code as string)
      : 'EIO';
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = NATIVE_ERROR_CODES[native] ?? 'PROTOCOL';
  return new IpcError(code, `rdma ${provider} ${what} failed: ${message}`, {
    details: { provider, reason: native },
    cause,
  });
}
