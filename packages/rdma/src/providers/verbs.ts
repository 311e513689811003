/**
 * The verbs provider: real RDMA through libibverbs and librdmacm (both loaded by the native
 * addon with dlopen at first use). A region is registered in place (ibv_reg_mr on the
 * endpoint's protection domain) and described by its address and rkey; the peer reads or
 * writes it one-sidedly with IBV_WR_RDMA_READ / IBV_WR_RDMA_WRITE on an RC queue pair that
 * librdmacm connected. Completions and connection events arrive on the JS thread (the
 * completion channel's fd and the rdma_cm event channel's fd are watched by libuv).
 *
 * On a machine without an RDMA device, availability() says why (here: libibverbs answers
 * ENOSYS, the kernel has no InfiniBand support) and open() rejects with UNAVAILABLE. The tests
 * run the same code over a TEST DOUBLE of the two libraries (native/verbs/test-double), loaded
 * in place of the real ones through OPENCLAW_IPC_LIBIBVERBS / OPENCLAW_IPC_LIBRDMACM.
 *
 * Rendezvous over the control channel: the server endpoint listens with rdma_cm on
 * `options.host` (port `options.port`, default 0) and sends {host, port} in its handshake; a
 * client endpoint sends a random token in its handshake and connects with the token as the
 * connection's private data, so the server pairs the RDMA connection with the control
 * connection it came with.
 *
 * ## The native surface (`addon.verbs`, native/verbs/src/verbs_js.c)
 * - `probe() -> VerbsProbe`: what the libraries report (never throws).
 * - `open() -> VerbsContext`: the first device librdmacm knows and a PD (throws `code` ENOSYS,
 *   ENODEV, ENOENT for a library that cannot be loaded, …).
 * - `ctx.register(view, access) -> VerbsRegion {addr, rkey, lkey, length, close()}`:
 *   IBV_ACCESS_LOCAL_WRITE plus REMOTE_READ (access & 1) / REMOTE_WRITE (access & 2). The region
 *   keeps the view alive; close() or GC deregisters it (after the operations using it).
 * - `ctx.connect(host, port, {privateData?, timeoutMs?, maxInflight?}) -> Promise<VerbsConnection>`
 *   (numeric host), `ctx.listen(host, port, onConnection, {backlog?, maxInflight?}) -> {port, close()}`.
 * - `conn.read(localRegion, localOffset, remoteAddr, rkey, length)` / `conn.write(...)` ->
 *   Promise<number> (bytes moved). At most `maxInflight` (default 128, the send queue depth) at
 *   once, or EBUSY. A failed completion puts the RC queue pair in the error state, as on a NIC:
 *   later operations fail EQPERROR (CLOSED) and the connection must be made again.
 * - `conn.close()` rejects pending operations with ECLOSED after the queue pair is destroyed;
 *   `conn.ondisconnect = (reason) => …` is called when the peer goes (pending: EDISCONNECTED).
 * Native error codes and their IpcError codes: {@link VERBS_ERROR_CODES}.
 */
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { IpcError, type IpcErrorCode } from '@openclaw-ipc/core';
import { tryNative } from '../native-bridge.js';
import {
  ACCESS_READ,
  type Availability,
  type LocalRegion,
  type OpenOptions,
  type PeerContext,
  type ProviderEndpoint,
  probeOnce,
  type RdmaProvider,
  type RegionDescriptor,
  type RegisterOptions,
  type RemotePeer,
  unavailableError,
} from './provider.js';

/** What `addon.verbs.probe()` answers. */
export interface VerbsProbe {
  readonly available: boolean;
  /** When unavailable: the errno name ('ENOSYS', 'ENODEV'; 'ENOENT' when a library cannot be loaded). */
  readonly code?: string;
  readonly errno?: number;
  readonly reason?: string;
  readonly devices: readonly string[];
  /** The library file names used (OPENCLAW_IPC_LIBIBVERBS / OPENCLAW_IPC_LIBRDMACM or the defaults). */
  readonly ibverbs: string;
  readonly rdmacm: string;
}

export interface VerbsRegion {
  readonly addr: bigint;
  readonly rkey: number;
  readonly lkey: number;
  readonly length: number;
  readonly access: number;
  /** False once deregistered (or closing while operations still use it). */
  readonly registered: boolean;
  close(): void;
}

export interface VerbsConnection {
  read(
    local: VerbsRegion,
    localOffset: number,
    remoteAddr: bigint,
    rkey: number,
    length: number,
  ): Promise<number>;
  write(
    local: VerbsRegion,
    localOffset: number,
    remoteAddr: bigint,
    rkey: number,
    length: number,
  ): Promise<number>;
  /** Server side: the client's connect private data. */
  readonly privateData: Buffer;
  readonly inflight: number;
  /** Established and not in the error state. */
  readonly open: boolean;
  ondisconnect?: (reason: string) => void;
  close(): void;
}

export interface VerbsListener {
  readonly port: number;
  close(): void;
}

export interface VerbsContext {
  readonly device: string;
  register(view: Uint8Array, access: number): VerbsRegion;
  connect(
    host: string,
    port: number,
    options?: { privateData?: Buffer; timeoutMs?: number; maxInflight?: number },
  ): Promise<VerbsConnection>;
  listen(
    host: string,
    port: number,
    onConnection: (conn: VerbsConnection) => void,
    options?: { backlog?: number; maxInflight?: number },
  ): VerbsListener;
  close(): void;
}

export interface VerbsNative {
  probe(): VerbsProbe;
  open(): VerbsContext;
}

/** Native error names of the verbs provider and the IpcError code each becomes. */
export const VERBS_ERROR_CODES: Readonly<Record<string, IpcErrorCode>> = {
  EREMOTEACCESS: 'AUTH', // IBV_WC_REM_ACCESS_ERR: wrong rkey, outside the region, or access not granted
  EQPERROR: 'CLOSED', // the queue pair is in the error state after a failed operation
  EFLUSHED: 'CLOSED', // IBV_WC_WR_FLUSH_ERR
  EDISCONNECTED: 'CLOSED', // the peer went away
  ECLOSED: 'CLOSED',
  ECONNECT: 'CONNECT',
  ETIMEDOUT: 'TIMEOUT', // retries exhausted (peer unreachable)
  EBUSY: 'CAPACITY', // the send queue is full
  ERANGE: 'INVALID_ARGUMENT',
  EINVAL: 'INVALID_ARGUMENT',
  ELOCAL: 'INVALID_ARGUMENT', // a local protection/length error
  ENOSYS: 'UNAVAILABLE',
  ENODEV: 'UNAVAILABLE',
  ENOENT: 'UNAVAILABLE',
};

/** The IpcError for a verbs failure; the native name stays in `details.reason`. */
export function verbsError(cause: unknown, what: string): IpcError {
  if (cause instanceof IpcError) return cause;
  const e = cause as { code?: unknown; wcStatus?: unknown; message?: unknown } | null;
  const reason = typeof e?.code === 'string' ? e.code : 'EIO';
  const message = typeof e?.message === 'string' ? e.message : String(cause);
  return new IpcError(VERBS_ERROR_CODES[reason] ?? 'PROTOCOL', `rdma verbs ${what} failed: ${message}`, {
    cause,
    details: {
      provider: 'verbs',
      reason,
      ...(typeof e?.wcStatus === 'string' ? { wcStatus: e.wcStatus } : {}),
    },
  });
}

function verbsNative(): VerbsNative | IpcError {
  const n = tryNative();
  if ('error' in n) return n.error;
  const v = (n.addon as { verbs?: VerbsNative }).verbs;
  if (!v) return new IpcError('UNAVAILABLE', 'the rdma addon was built without the verbs provider');
  return v;
}

/** Options of the verbs endpoint beyond {@link OpenOptions}, with their defaults. */
export interface VerbsOptions {
  /** Operations in flight per connection (the send queue depth); more wait in order. Default 128. */
  readonly maxInflight?: number;
  /** Time for the RDMA connection to be established, ms. Default 10 000. */
  readonly connectTimeout?: number;
}

const DEFAULT_MAX_INFLIGHT = 128;
const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** Server side: unclaimed incoming connections kept at most (each is closed after connectTimeout). */
const MAX_UNCLAIMED = 64;

async function numericHost(host: string): Promise<string> {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(h)) return h;
  try {
    return (await lookup(h)).address;
  } catch (err) {
    throw new IpcError('CONNECT', `rdma verbs: cannot resolve ${host}`, { cause: err });
  }
}

/** A host from a control link's remote address (a bare host, or a URL such as rdma+verbs://h:p). */
function hostOf(remote: string): string {
  if (!remote.includes('://')) return remote;
  try {
    return new URL(remote).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return remote;
  }
}

/** Admits at most `limit` operations at once; the rest wait in order. */
class InflightGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await op();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** The one-sided view of one peer over one RC connection (possibly still being established). */
class VerbsPeer implements RemotePeer {
  private conn: VerbsConnection | undefined;
  private failure: IpcError | undefined;
  private readonly gate: InflightGate;

  constructor(
    private readonly ctx: VerbsContext,
    private readonly ready: Promise<VerbsConnection>,
    maxInflight: number,
    private readonly onClose: () => void,
  ) {
    this.gate = new InflightGate(maxInflight);
    ready.then(
      (c) => {
        this.conn = c;
        c.ondisconnect = (reason) => {
          this.failure ??= new IpcError('CLOSED', `rdma verbs: ${reason}`, {
            details: { provider: 'verbs', reason: 'EDISCONNECTED' },
          });
        };
      },
      (err) => {
        this.failure ??= verbsError(err, 'connect');
      },
    );
  }

  read(
    d: RegionDescriptor,
    into: Uint8Array,
    intoOffset = 0,
    range?: { offset: number; length: number },
  ): Promise<void> {
    return this.transfer('read', d, into, intoOffset, range);
  }

  write(d: RegionDescriptor, from: Uint8Array, range?: { offset: number; length: number }): Promise<void> {
    return this.transfer('write', d, from, 0, range);
  }

  private async transfer(
    what: 'read' | 'write',
    d: RegionDescriptor,
    local: Uint8Array,
    localOffset: number,
    range?: { offset: number; length: number },
  ): Promise<void> {
    const offset = range?.offset ?? 0;
    const length = range?.length ?? d.length - offset;
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > d.length
    )
      throw new IpcError(
        'INVALID_ARGUMENT',
        `range ${offset}+${length} is outside the ${d.length}-byte region`,
      );
    if (!Number.isInteger(localOffset) || localOffset < 0 || localOffset + length > local.byteLength)
      throw new IpcError(
        'INVALID_ARGUMENT',
        `${length} bytes do not fit at ${localOffset} of a ${local.byteLength}-byte buffer`,
      );
    if (length === 0) return;
    const conn = await this.connection();
    await this.gate.run(async () => {
      // The local bytes are registered for this operation only (LOCAL_WRITE for a READ's target).
      let mr: VerbsRegion;
      try {
        mr = this.ctx.register(local.subarray(localOffset, localOffset + length), 0);
      } catch (err) {
        throw verbsError(err, what);
      }
      try {
        const remote = d.addr + BigInt(offset);
        await (what === 'read'
          ? conn.read(mr, 0, remote, d.key, length)
          : conn.write(mr, 0, remote, d.key, length));
      } catch (err) {
        throw verbsError(err, what);
      } finally {
        mr.close();
      }
    });
  }

  private async connection(): Promise<VerbsConnection> {
    if (this.failure) throw this.failure;
    const conn = this.conn ?? (await this.ready.catch(() => undefined));
    if (this.failure) throw this.failure;
    if (!conn) throw new IpcError('CLOSED', 'rdma verbs: the connection is closed');
    return conn;
  }

  close(): void {
    this.failure ??= new IpcError('CLOSED', 'rdma verbs peer closed', {
      details: { provider: 'verbs', reason: 'ECLOSED' },
    });
    this.conn?.close();
    this.ready.then(
      (c) => c.close(),
      () => {},
    );
    this.onClose();
  }
}

/** What the server side waits for: the incoming RDMA connection carrying a client's token. */
interface Pending {
  resolve(conn: VerbsConnection): void;
  reject(err: IpcError): void;
}

class VerbsEndpoint implements ProviderEndpoint {
  readonly provider = 'verbs' as const;
  readonly registersAnyMemory = true;
  private readonly regions = new Set<LocalRegion>();
  private readonly peers = new Set<VerbsPeer>();
  private readonly waiting = new Map<string, Pending>();
  private readonly unclaimed = new Map<string, VerbsConnection>();
  private readonly token = randomBytes(16);
  private listener: VerbsListener | undefined;
  private closed = false;

  constructor(
    private readonly ctx: VerbsContext,
    private readonly host: string,
    private readonly options: VerbsOptions,
  ) {}

  /** Server role: listens with rdma_cm and pairs incoming connections with control connections. */
  listen(port: number): void {
    this.listener = this.ctx.listen(this.host, port, (conn) => this.incoming(conn), {
      maxInflight: this.options.maxInflight ?? DEFAULT_MAX_INFLIGHT,
    });
  }

  private incoming(conn: VerbsConnection): void {
    const token = conn.privateData.toString('hex');
    const pending = this.waiting.get(token);
    if (pending) {
      this.waiting.delete(token);
      pending.resolve(conn);
      return;
    }
    if (this.closed || this.unclaimed.size >= MAX_UNCLAIMED || this.unclaimed.has(token)) {
      conn.close();
      return;
    }
    this.unclaimed.set(token, conn);
    setTimeout(() => {
      if (this.unclaimed.get(token) === conn) {
        this.unclaimed.delete(token);
        conn.close();
      }
    }, this.options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT).unref();
  }

  handshake(): Record<string, unknown> {
    return this.listener
      ? { host: this.host, port: this.listener.port }
      : { token: this.token.toString('hex') };
  }

  allocate(size: number): Uint8Array {
    return Buffer.allocUnsafe(size);
  }

  register(bytes: Uint8Array, options: RegisterOptions = {}): LocalRegion {
    if (this.closed) throw new IpcError('CLOSED', 'rdma verbs endpoint closed');
    let mr: VerbsRegion;
    try {
      mr = this.ctx.register(bytes, options.access ?? ACCESS_READ);
    } catch (err) {
      throw verbsError(err, 'register');
    }
    const descriptor: RegionDescriptor = {
      provider: 'verbs',
      key: mr.rkey,
      addr: mr.addr,
      length: mr.length,
    };
    const regions = this.regions;
    let timer: NodeJS.Timeout | undefined;
    const region: LocalRegion = {
      descriptor,
      bytes,
      close() {
        if (!regions.delete(region)) return;
        if (timer) clearTimeout(timer);
        mr.close();
      },
    };
    // Memory registrations do not expire by themselves: the ttl deregisters.
    if (options.ttlMs && options.ttlMs > 0) timer = setTimeout(() => region.close(), options.ttlMs).unref();
    regions.add(region);
    return region;
  }

  async connect(peer: PeerContext): Promise<RemotePeer> {
    if (this.closed) throw new IpcError('CLOSED', 'rdma verbs endpoint closed');
    const maxInflight = this.options.maxInflight ?? DEFAULT_MAX_INFLIGHT;
    const ready = this.listener ? this.awaitIncoming(peer) : this.dial(peer, maxInflight);
    if (!this.listener) await ready.catch((err: unknown) => Promise.reject(verbsError(err, 'connect')));
    else ready.catch(() => {}); // reported by the peer's operations
    const p: VerbsPeer = new VerbsPeer(this.ctx, ready, maxInflight, () => this.peers.delete(p));
    this.peers.add(p);
    return p;
  }

  /** Client: connects to the server's rdma_cm listener with our token as private data. */
  private async dial(peer: PeerContext, maxInflight: number): Promise<VerbsConnection> {
    const port = peer.handshake.port;
    // The address the server listens on, unless it is a wildcard: then the control peer's host.
    const advertised = typeof peer.handshake.host === 'string' ? peer.handshake.host : undefined;
    const host =
      advertised && advertised !== '0.0.0.0' && advertised !== '::'
        ? advertised
        : peer.host
          ? hostOf(peer.host)
          : undefined;
    if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535 || !host)
      throw new IpcError('PROTOCOL', 'rdma verbs handshake: the server sent no host/port');
    const timeoutMs = this.options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    const connecting = this.ctx.connect(await numericHost(host), port, {
      privateData: this.token,
      timeoutMs: Math.min(timeoutMs, 2000),
      maxInflight,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        connecting.then(
          (c) => c.close(),
          () => {},
        );
        reject(
          new IpcError('TIMEOUT', `rdma verbs connect to ${host}:${port} timed out after ${timeoutMs} ms`),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([connecting, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Server: the RDMA connection whose private data is the client's token. */
  private awaitIncoming(peer: PeerContext): Promise<VerbsConnection> {
    const token = peer.handshake.token;
    if (typeof token !== 'string' || !/^[0-9a-f]{32}$/.test(token))
      return Promise.reject(new IpcError('PROTOCOL', 'rdma verbs handshake: the client sent no token'));
    const early = this.unclaimed.get(token);
    if (early) {
      this.unclaimed.delete(token);
      return Promise.resolve(early);
    }
    if (this.waiting.has(token))
      return Promise.reject(new IpcError('PROTOCOL', 'rdma verbs handshake: the token is in use'));
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
      const timer = setTimeout(() => {
        if (this.waiting.delete(token))
          reject(new IpcError('TIMEOUT', `rdma verbs: the client did not connect within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.waiting.set(token, {
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new IpcError('CLOSED', 'rdma verbs endpoint closed');
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    for (const c of this.unclaimed.values()) c.close();
    this.unclaimed.clear();
    for (const p of [...this.peers]) p.close();
    for (const r of [...this.regions]) r.close();
    this.listener?.close();
    this.ctx.close(); // rejects what is still pending with ECLOSED, deregisters, frees the PD
  }
}

function probe(): Availability {
  const v = verbsNative();
  if (v instanceof IpcError)
    return {
      available: false,
      reason: v.message,
      errno: (v.details as { reason?: string } | undefined)?.reason ?? 'ENOENT',
    };
  const p = v.probe();
  if (!p.available)
    return { available: false, reason: p.reason ?? 'unknown', ...(p.code ? { errno: p.code } : {}) };
  return { available: true, detail: `${p.devices.join(', ')} (${p.ibverbs})` };
}

/**
 * True when verbs runs on a real RDMA device (not the test double): what the sidecar's
 * GetCapabilities reports as `real_rdma`.
 */
export function verbsOnRealDevice(): boolean {
  const v = verbsNative();
  if (v instanceof IpcError) return false;
  const p = v.probe();
  return p.available && p.devices.length > 0 && !p.devices.every((d) => d.startsWith('test-double'));
}

export const verbsProvider: RdmaProvider & {
  open(options: OpenOptions & VerbsOptions): Promise<ProviderEndpoint>;
} = {
  name: 'verbs',
  availability: probeOnce(probe),
  async open(options: OpenOptions & VerbsOptions): Promise<ProviderEndpoint> {
    const a = this.availability();
    if (!a.available) throw unavailableError('verbs', a);
    const v = verbsNative();
    if (v instanceof IpcError) throw v;
    let ctx: VerbsContext;
    try {
      ctx = v.open();
    } catch (err) {
      throw verbsError(err, 'open');
    }
    const host = await numericHost(options.host ?? '127.0.0.1').catch((err: unknown) => {
      ctx.close();
      throw err;
    });
    const endpoint = new VerbsEndpoint(ctx, host, options);
    if (options.role === 'server') {
      try {
        endpoint.listen(options.port ?? 0);
      } catch (err) {
        ctx.close();
        throw verbsError(err, 'listen');
      }
    }
    return endpoint;
  },
};
