/**
 * A client of the sidecar engine protocol that moves the data too: StartRead, a one-sided read
 * of the session window (cma: process_vm_readv of the engine process, whose pid comes from
 * SO_PEERCRED of the control socket; the read checks the engine's registration table, whose
 * address the engine reports in GetCapabilities' port_gid as `table@0x…`), CRC32C of the bytes,
 * CompleteRead with it.
 */
import { IpcError, RpcClient } from '@openclaw-ipc/core';
import {
  connectUnix,
  createSidecarDialect,
  OrderedReplyChannel,
  SIDECAR_MAX_RESPONSE,
  type SidecarContract,
  type SidecarEncoding,
  type StartReadRequest,
  type StartReadResponse,
} from '@openclaw-ipc/unix';
import { controlPeerCredentials } from './handshake.js';
import { crc32c, type NativePeer, native, type PeerCredentials } from './native-bridge.js';
import { providerError } from './providers/provider.js';

/** `port_gid` of a cma engine: where its registration table is. */
export const tableGid = (addr: bigint): string => `table@0x${addr.toString(16)}`;

export function parseTableGid(gid: string): bigint | undefined {
  const m = /^table@0x([0-9a-f]{1,16})$/.exec(gid);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

export interface SidecarReaderOptions {
  /** The encoding of our requests (the engine answers in kind). Default 'array'. */
  encoding?: SidecarEncoding;
  /** Request timeout in ms. Default 30 000. */
  timeout?: number;
}

export interface NeedleRead {
  volume_id: number;
  needle_id: number | bigint;
  cookie: number;
  offset?: number;
  /** 0 or absent: the whole needle. */
  size?: number;
  timeout_secs?: number;
}

export interface ReadResult {
  bytes: Buffer;
  crc: number;
  session: StartReadResponse;
}

export class SidecarReader {
  private constructor(
    readonly client: RpcClient<SidecarContract>,
    readonly engine: PeerCredentials,
    private readonly peer: NativePeer,
  ) {}

  /** Connects to the engine at `path` (a Unix socket path). */
  static async connect(path: string, options: SidecarReaderOptions = {}): Promise<SidecarReader> {
    const link = await connectUnix(path, { maxMessageSize: SIDECAR_MAX_RESPONSE });
    let client: RpcClient<SidecarContract> | undefined;
    try {
      const engine = controlPeerCredentials(link);
      const channel = new OrderedReplyChannel(link);
      client = await RpcClient.connect<SidecarContract>({
        dialect: createSidecarDialect({ encoding: options.encoding ?? 'array' }),
        channel: async () => channel,
        reconnect: false,
        timeout: options.timeout ?? 30_000,
      });
      const caps = await client.request('GetCapabilities', {});
      const table = parseTableGid(caps.port_gid);
      if (table === undefined)
        throw new IpcError(
          'UNAVAILABLE',
          `the engine does not serve cma (port_gid ${JSON.stringify(caps.port_gid)})`,
        );
      let peer: NativePeer;
      try {
        peer = native().cmaPeer(engine.pid, table);
      } catch (err) {
        throw providerError('cma', err, 'connect');
      }
      return new SidecarReader(client, engine, peer);
    } catch (err) {
      if (client) client.close();
      else link.close();
      throw err;
    }
  }

  /** StartRead, one-sided read, CRC32C, CompleteRead. Rejects when the CRCs differ (PROTOCOL). */
  async read(needle: NeedleRead): Promise<ReadResult> {
    const req: StartReadRequest = {
      volume_id: needle.volume_id,
      needle_id: needle.needle_id,
      cookie: needle.cookie,
      offset: needle.offset ?? 0,
      size: needle.size ?? 0,
      remote_addr: 0,
      remote_key: 0,
      timeout_secs: needle.timeout_secs ?? 30,
    };
    const session = await this.client.request('StartRead', req);
    const size = Number(session.transfer_size);
    const bytes = Buffer.allocUnsafe(size);
    try {
      if (size > 0) await this.peer.read(session.local_key, BigInt(session.local_addr), size, bytes, 0);
    } catch (err) {
      const error = providerError('cma', err);
      await this.client
        .request('CompleteRead', {
          session_id: session.session_id,
          success: false,
          bytes_transferred: 0,
          error_message: error.message,
        })
        .catch(() => {});
      throw error;
    }
    const crc = crc32c(bytes);
    const done = await this.client.request('CompleteRead', {
      session_id: session.session_id,
      success: true,
      bytes_transferred: size,
      client_crc: crc,
    });
    if (!done.success)
      throw new IpcError('PROTOCOL', `CompleteRead failed: ${done.message ?? 'no message'}`, {
        details: { client_crc: crc, server_crc: done.server_crc },
      });
    return { bytes, crc, session };
  }

  close(): void {
    this.peer.close();
    this.client.close();
  }
}
