/**
 * A demo sidecar service: answers Ping and GetCapabilities as the engine does. StartRead and
 * CompleteRead come with the RDMA transport; until then they are answered UNSUPPORTED_MESSAGE
 * (no handler), like any variant the engine does not serve.
 */
import type { Handler } from '@openclaw-ipc/core';
import type { GetCapabilitiesResponse, PingRequest, PongResponse } from './messages.js';

// Wall-clock nanoseconds with hrtime's resolution: Date.now() anchors hrtime once.
const epochOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Unix time in nanoseconds, as a BigInt. */
export const nowNs = (): bigint => epochOffset + process.hrtime.bigint();

/** A u64 as the sidecar messages carry it: a number while exact, a BigInt beyond 2^53. */
export const toU64 = (value: bigint): number | bigint =>
  value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;

/** Answers Ping as the engine does: both clocks and the one-way delay seen by the server. */
export const sidecarPing: Handler<PingRequest, PongResponse> = ({ timestamp_ns }) => {
  const server = nowNs();
  const client = BigInt(timestamp_ns);
  return {
    client_timestamp_ns: timestamp_ns,
    server_timestamp_ns: toU64(server),
    server_rtt_ns: toU64(server > client ? server - client : 0n),
  };
};

export interface SidecarDemoOptions {
  /** Reported as `device_name`. Default 'openclaw-ipc-demo'. */
  deviceName?: string;
  /** Reported as `version`. Default '0.1.0'. */
  version?: string;
}

/** Handlers for RpcServer (method = variant name) answering Ping and GetCapabilities. */
export function sidecarDemoHandlers(options: SidecarDemoOptions = {}): Record<string, Handler> {
  const capabilities: Handler<unknown, GetCapabilitiesResponse> = () => ({
    device_name: options.deviceName ?? 'openclaw-ipc-demo',
    vendor_id: 0,
    max_transfer_size: 0,
    max_sessions: 0,
    active_sessions: 0,
    port_gid: '',
    port_lid: 0,
    supported_auth: ['none'],
    version: options.version ?? '0.1.0',
    real_rdma: false,
  });
  return { Ping: sidecarPing, GetCapabilities: capabilities };
}
