/**
 * The SeaweedFS RDMA sidecar protocol (wire-formats.md §5): nine message variants in an
 * adjacently tagged `{type, data}` envelope. Field names and order are the protocol's; the
 * order matters for the compact (array) encoding the Rust engine writes.
 *
 * 64-bit fields (`U64`) decode as a number when it is exact (at most 2^53) and as a BigInt
 * above that, so nanosecond timestamps and addresses survive; both are accepted for encoding.
 */

import type { Contract, MethodDef } from '@openclaw-ipc/core';

/** An unsigned 64-bit integer: a number while exact, a BigInt beyond 2^53. */
export type U64 = number | bigint;

/** Ping: a health check carrying the client's clock (Unix ns). */
export interface PingRequest {
  timestamp_ns: U64;
  client_id?: string;
}

export interface PongResponse {
  client_timestamp_ns: U64;
  server_timestamp_ns: U64;
  server_rtt_ns: U64;
}

export interface GetCapabilitiesRequest {
  client_id?: string;
}

export interface GetCapabilitiesResponse {
  device_name: string;
  vendor_id: number;
  max_transfer_size: U64;
  max_sessions: U64;
  active_sessions: U64;
  port_gid: string;
  port_lid: number;
  supported_auth: string[];
  version: string;
  real_rdma: boolean;
}

export interface StartReadRequest {
  volume_id: number;
  needle_id: U64;
  cookie: number;
  offset: U64;
  /** Bytes to read; 0 reads the whole needle. */
  size: U64;
  remote_addr: U64;
  remote_key: number;
  timeout_secs: U64;
  auth_token?: string;
}

export interface StartReadResponse {
  session_id: string;
  local_addr: U64;
  local_key: number;
  transfer_size: U64;
  expected_crc: number;
  expires_at_ns: U64;
}

export interface CompleteReadRequest {
  session_id: string;
  success: boolean;
  bytes_transferred: U64;
  client_crc?: number;
  error_message?: string;
}

export interface CompleteReadResponse {
  success: boolean;
  server_crc?: number;
  message?: string;
}

/**
 * The engine's error (four fields). The Go sidecar's own struct has `code`, `message` and an
 * optional `details` instead: `category` and `recoverable` are therefore optional when read.
 */
export interface ErrorResponse {
  code: string;
  message: string;
  category: string;
  recoverable: boolean;
  details?: string;
}

/** Every variant and its data. */
export interface SidecarVariants {
  Ping: PingRequest;
  Pong: PongResponse;
  GetCapabilities: GetCapabilitiesRequest;
  GetCapabilitiesResponse: GetCapabilitiesResponse;
  StartRead: StartReadRequest;
  StartReadResponse: StartReadResponse;
  CompleteRead: CompleteReadRequest;
  CompleteReadResponse: CompleteReadResponse;
  Error: ErrorResponse;
}

export type SidecarVariant = keyof SidecarVariants;

/** One message as it travels: the envelope's `type` and its `data`. */
export type SidecarMessage = {
  [V in SidecarVariant]: { type: V; data: SidecarVariants[V] };
}[SidecarVariant];

/** The requests and the response variant each is answered with (besides Error). */
export const SIDECAR_REQUESTS = {
  Ping: 'Pong',
  GetCapabilities: 'GetCapabilitiesResponse',
  StartRead: 'StartReadResponse',
  CompleteRead: 'CompleteReadResponse',
} as const satisfies Partial<Record<SidecarVariant, SidecarVariant>>;

export type SidecarRequestVariant = keyof typeof SIDECAR_REQUESTS;

/**
 * The sidecar protocol as a typed contract for RpcClient/RpcServer: method = request variant,
 * params = its struct, result = the struct of its response variant.
 */
export interface SidecarContract extends Contract {
  methods: {
    [V in SidecarRequestVariant]: MethodDef<
      SidecarVariants[V],
      SidecarVariants[(typeof SIDECAR_REQUESTS)[V]]
    >;
  };
  events: {};
}

export type FieldKind = 'u16' | 'u32' | 'u64' | 'bool' | 'string' | 'strings';

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** An Option in Rust (nil in arrays), omitted when empty in Go's maps. */
  readonly optional?: boolean;
  /** Read if present, never written (the Go sidecar's extra error field). */
  readonly readOnly?: boolean;
}

const f = (name: string, kind: FieldKind, optional = false): FieldSpec => ({ name, kind, optional });

/** The fields of every variant, in the order of the Rust structs. */
export const SIDECAR_FIELDS: Readonly<Record<SidecarVariant, readonly FieldSpec[]>> = {
  Ping: [f('timestamp_ns', 'u64'), f('client_id', 'string', true)],
  Pong: [f('client_timestamp_ns', 'u64'), f('server_timestamp_ns', 'u64'), f('server_rtt_ns', 'u64')],
  GetCapabilities: [f('client_id', 'string', true)],
  GetCapabilitiesResponse: [
    f('device_name', 'string'),
    f('vendor_id', 'u32'),
    f('max_transfer_size', 'u64'),
    f('max_sessions', 'u64'),
    f('active_sessions', 'u64'),
    f('port_gid', 'string'),
    f('port_lid', 'u16'),
    f('supported_auth', 'strings'),
    f('version', 'string'),
    f('real_rdma', 'bool'),
  ],
  StartRead: [
    f('volume_id', 'u32'),
    f('needle_id', 'u64'),
    f('cookie', 'u32'),
    f('offset', 'u64'),
    f('size', 'u64'),
    f('remote_addr', 'u64'),
    f('remote_key', 'u32'),
    f('timeout_secs', 'u64'),
    f('auth_token', 'string', true),
  ],
  StartReadResponse: [
    f('session_id', 'string'),
    f('local_addr', 'u64'),
    f('local_key', 'u32'),
    f('transfer_size', 'u64'),
    f('expected_crc', 'u32'),
    f('expires_at_ns', 'u64'),
  ],
  CompleteRead: [
    f('session_id', 'string'),
    f('success', 'bool'),
    f('bytes_transferred', 'u64'),
    f('client_crc', 'u32', true),
    f('error_message', 'string', true),
  ],
  CompleteReadResponse: [f('success', 'bool'), f('server_crc', 'u32', true), f('message', 'string', true)],
  Error: [
    f('code', 'string'),
    f('message', 'string'),
    f('category', 'string', true),
    f('recoverable', 'bool', true),
    { name: 'details', kind: 'string', optional: true, readOnly: true },
  ],
};

export const isSidecarVariant = (name: unknown): name is SidecarVariant =>
  typeof name === 'string' && Object.hasOwn(SIDECAR_FIELDS, name);

export const isSidecarRequest = (name: unknown): name is SidecarRequestVariant =>
  typeof name === 'string' && Object.hasOwn(SIDECAR_REQUESTS, name);

/** The engine's reply to a variant it does not serve. */
export const UNSUPPORTED_MESSAGE: ErrorResponse = {
  code: 'UNSUPPORTED_MESSAGE',
  message: 'Unsupported message type',
  category: 'request',
  recoverable: true,
};
