/**
 * The SeaweedFS RDMA engine's control API (wire-formats.md §5) served for real: StartRead
 * registers a session window over the requested bytes of a needle and returns its address,
 * key, size, CRC32C and expiry; the client reads the bytes one-sidedly (cma: process_vm_readv
 * of `local_addr` in this process, pid from SO_PEERCRED of the control socket); CompleteRead
 * compares the client's CRC32C with ours and releases the session. Sessions expire after
 * `timeout_secs` (deregistered: a later read fails) and are capped (`maxSessions`: CAPACITY).
 *
 * The request's `remote_addr`/`remote_key` (the client's buffer, for an engine that writes into
 * it) are not used: our clients read.
 */
import { randomBytes } from 'node:crypto';
import { type Handler, IpcError, RemoteError } from '@openclaw-ipc/core';
import {
  type CompleteReadRequest,
  type CompleteReadResponse,
  type GetCapabilitiesResponse,
  nowNs,
  type StartReadRequest,
  type StartReadResponse,
  sidecarPing,
  toU64,
  type U64,
} from '@openclaw-ipc/unix';
import { ACCESS_READ, type LocalRegion, type ProviderEndpoint, providerError } from './providers/provider.js';

/** Which needle a StartRead asks for. */
export interface NeedleRef {
  volume_id: number;
  needle_id: bigint;
  cookie: number;
}

/** Finds a needle's bytes; undefined when there is none (answered NOT_FOUND). */
export type ResolveNeedle = (ref: NeedleRef) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface SidecarEngineOptions {
  /** Needles by `${volume_id},${needle_id}` (decimal), or a resolver. */
  blobs?: Map<string, Uint8Array>;
  resolveNeedle?: ResolveNeedle;
  /** Sessions active at once; over it StartRead answers CAPACITY. Default 1024. */
  maxSessions?: number;
  /** Largest transfer_size. Default 256 MiB. */
  maxTransferSize?: number;
  /** Session lifetime when the request's timeout_secs is 0. Default 30. */
  defaultTimeoutSecs?: number;
  /** Longest session lifetime granted. Default 3600. */
  maxTimeoutSecs?: number;
  /** Reported as `device_name`; default `openclaw-ipc-<provider>`. */
  deviceName?: string;
  /** Whether the provider is verbs on a real device (real_rdma). Default false. */
  realRdma?: boolean;
  version?: string;
}

/** The key of a needle in `blobs`. */
export const needleKey = (volumeId: number, needleId: U64): string => `${volumeId},${BigInt(needleId)}`;

interface Session {
  region: LocalRegion;
  crc: number;
  size: number;
  timer: NodeJS.Timeout;
}

const engineError = (code: string, message: string, recoverable = false): RemoteError =>
  new RemoteError(message, {
    remoteCode: code,
    retryable: recoverable,
    details: { category: code === 'CAPACITY' ? 'capacity' : 'request', recoverable },
  });

/** The engine's state: sessions over one provider endpoint. */
export class SidecarEngine {
  private readonly sessions = new Map<string, Session>();
  private readonly maxSessions: number;
  private readonly maxTransfer: number;
  private closed = false;

  constructor(
    private readonly endpoint: ProviderEndpoint,
    private readonly crc32c: (bytes: Uint8Array) => number,
    private readonly options: SidecarEngineOptions = {},
  ) {
    this.maxSessions = options.maxSessions ?? 1024;
    this.maxTransfer = options.maxTransferSize ?? 256 * 1024 * 1024;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Handlers for an RpcServer speaking the sidecar dialect. */
  handlers(): Record<string, Handler> {
    const capabilities: Handler<unknown, GetCapabilitiesResponse> = () => ({
      device_name: this.options.deviceName ?? `openclaw-ipc-${this.endpoint.provider}`,
      vendor_id: 0,
      max_transfer_size: this.maxTransfer,
      max_sessions: this.maxSessions,
      active_sessions: this.sessions.size,
      port_gid: this.portGid(),
      port_lid: 0,
      supported_auth: ['none'],
      version: this.options.version ?? '0.1.0',
      real_rdma: this.options.realRdma ?? false,
    });
    return {
      Ping: sidecarPing,
      GetCapabilities: capabilities,
      StartRead: (params) => this.startRead(params as StartReadRequest),
      CompleteRead: (params) => this.completeRead(params as CompleteReadRequest),
    };
  }

  /** cma: where our registration table is, for checking readers (see SidecarReader). */
  private portGid(): string {
    const t = this.endpoint.handshake().tableAddr;
    return typeof t === 'bigint' || typeof t === 'number' ? `table@0x${BigInt(t).toString(16)}` : '';
  }

  async startRead(req: StartReadRequest): Promise<StartReadResponse> {
    if (this.closed) throw new IpcError('CLOSED', 'engine closed');
    if (this.sessions.size >= this.maxSessions)
      throw new IpcError(
        'CAPACITY',
        `${this.sessions.size} sessions active (max_sessions ${this.maxSessions})`,
      );
    const ref = { volume_id: req.volume_id, needle_id: BigInt(req.needle_id), cookie: req.cookie };
    const needle = this.options.resolveNeedle
      ? await this.options.resolveNeedle(ref)
      : this.options.blobs?.get(needleKey(ref.volume_id, ref.needle_id));
    if (!needle) throw engineError('NOT_FOUND', `needle ${ref.volume_id},${ref.needle_id} not found`);
    const offset = BigInt(req.offset);
    const size = BigInt(req.size);
    if (offset > BigInt(needle.byteLength))
      throw engineError(
        'INVALID_REQUEST',
        `offset ${offset} is past the needle's ${needle.byteLength} bytes`,
      );
    const length = Number(size === 0n ? BigInt(needle.byteLength) - offset : size);
    if (Number(offset) + length > needle.byteLength)
      throw engineError(
        'INVALID_REQUEST',
        `range ${offset}+${length} is past the needle's ${needle.byteLength} bytes`,
      );
    if (length > this.maxTransfer)
      throw engineError(
        'INVALID_REQUEST',
        `transfer of ${length} bytes is over max_transfer_size ${this.maxTransfer}`,
      );
    // Sessions are readable only while registered: a re-check after the await above.
    if (this.sessions.size >= this.maxSessions)
      throw new IpcError(
        'CAPACITY',
        `${this.sessions.size} sessions active (max_sessions ${this.maxSessions})`,
      );
    const secs = Math.min(
      Number(req.timeout_secs) > 0 ? Number(req.timeout_secs) : (this.options.defaultTimeoutSecs ?? 30),
      this.options.maxTimeoutSecs ?? 3600,
    );
    let window = needle.subarray(Number(offset), Number(offset) + length);
    if (this.endpoint.registersAnyMemory === false) {
      const copy = this.endpoint.allocate(length);
      copy.set(window);
      window = copy;
    }
    let region: LocalRegion;
    try {
      region = this.endpoint.register(window, { access: ACCESS_READ, ttlMs: secs * 1000 });
    } catch (err) {
      throw providerError(this.endpoint.provider, err, 'register');
    }
    const crc = this.crc32c(window);
    const id = randomBytes(16).toString('hex');
    const timer = setTimeout(() => this.end(id), secs * 1000);
    timer.unref();
    this.sessions.set(id, { region, crc, size: length, timer });
    return {
      session_id: id,
      local_addr: toU64(region.descriptor.addr),
      local_key: region.descriptor.key,
      transfer_size: length,
      expected_crc: crc,
      expires_at_ns: toU64(nowNs() + BigInt(secs) * 1_000_000_000n),
    };
  }

  completeRead(req: CompleteReadRequest): CompleteReadResponse {
    const session = this.sessions.get(req.session_id);
    if (!session)
      throw engineError(
        'SESSION_NOT_FOUND',
        `no session ${String(req.session_id).slice(0, 64)} (expired or completed)`,
      );
    this.end(req.session_id);
    if (!req.success)
      return {
        success: false,
        server_crc: session.crc,
        message: req.error_message ?? 'client reported failure',
      };
    if (Number(req.bytes_transferred) !== session.size)
      return {
        success: false,
        server_crc: session.crc,
        message: `transferred ${req.bytes_transferred} of ${session.size} bytes`,
      };
    if (req.client_crc === undefined)
      return { success: true, server_crc: session.crc, message: 'no client CRC to compare' };
    const match = req.client_crc === session.crc;
    return {
      success: match,
      server_crc: session.crc,
      message: match ? 'CRC32C match' : `CRC32C mismatch: client ${req.client_crc}, server ${session.crc}`,
    };
  }

  /** Deregisters every session. */
  close(): void {
    this.closed = true;
    for (const id of [...this.sessions.keys()]) this.end(id);
  }

  private end(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    clearTimeout(s.timer);
    s.region.close();
  }
}
