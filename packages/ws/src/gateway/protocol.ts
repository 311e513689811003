/**
 * The OpenClaw gateway WebSocket protocol (wire-formats.md §2): frame shapes, the handshake's
 * types, and the dialect that maps req/res/event frames to canonical messages.
 */
import {
  type Dialect,
  decodeUtf8,
  type Frame,
  IpcError,
  type IpcMessage,
  newMessageId,
  type ResponsePayload,
  stringifyJson,
} from '@openclaw-ipc/core';

/** Protocol versions this client speaks: 3 (until spring 2026) and 4. */
export const GATEWAY_MIN_PROTOCOL = 3;
export const GATEWAY_MAX_PROTOCOL = 4;
/** The gateway's default port. */
export const GATEWAY_DEFAULT_PORT = 18789;
/** The close code a client uses for a link it declares dead (no tick in time). */
export const GATEWAY_TICK_TIMEOUT_CLOSE = 4000;

export type GatewayClientId =
  | 'cli'
  | 'webchat'
  | 'webchat-ui'
  | 'openclaw-control-ui'
  | 'gateway-client'
  | 'openclaw-macos'
  | 'openclaw-ios'
  | 'openclaw-android'
  | 'node-host'
  | 'test'
  | 'fingerprint'
  | 'openclaw-probe'
  | (string & {});
export type GatewayClientMode = 'webchat' | 'cli' | 'ui' | 'backend' | 'node' | 'probe' | 'test';
export type GatewayRole = 'operator' | 'node';

export interface GatewayClientInfo {
  id: GatewayClientId;
  version: string;
  platform: string;
  mode: GatewayClientMode;
  displayName?: string;
  instanceId?: string;
  deviceFamily?: string;
}

export interface GatewayErrorShape {
  code: string;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface GatewayEventFrame {
  type: 'event';
  event: string;
  payload?: unknown;
  seq?: number;
  stateVersion?: Record<string, number>;
}

export interface HelloOk {
  type: 'hello-ok';
  protocol: number;
  server: { version: string; connId: string; [key: string]: unknown };
  features: { methods: string[]; events: string[] };
  snapshot?: Record<string, unknown>;
  auth?: { method?: string; role?: string; scopes?: string[]; deviceToken?: string; [key: string]: unknown };
  policy: { maxPayload: number; maxBufferedBytes: number; tickIntervalMs: number; [key: string]: unknown };
  [key: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one gateway frame (any of req/res/event). @throws IpcError SERIALIZATION or PROTOCOL. */
export function parseGatewayFrame(frame: Frame): Record<string, unknown> {
  const text = typeof frame === 'string' ? frame : decodeUtf8(frame);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new IpcError('SERIALIZATION', `gateway sent invalid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!isObject(value) || typeof value.type !== 'string')
    throw new IpcError('PROTOCOL', 'gateway frame is not an object with a `type`');
  return value;
}

/** The canonical response of a `res` frame. */
export function responsePayload(frame: Record<string, unknown>): ResponsePayload {
  if (frame.ok === true)
    return {
      type: 'response',
      success: true,
      result: frame.payload === undefined ? null : frame.payload,
      error: null,
    };
  const error = isObject(frame.error) ? frame.error : {};
  const out: ResponsePayload = {
    type: 'response',
    success: false,
    result: null,
    error: typeof error.message === 'string' ? error.message : 'gateway error',
  };
  if (typeof error.code === 'string') out.code = error.code;
  if (error.details !== undefined) out.details = error.details;
  if (typeof error.retryable === 'boolean') out.retryable = error.retryable;
  if (typeof error.retryAfterMs === 'number') out.retryAfterMs = error.retryAfterMs;
  return out;
}

/** Observes every decoded frame (liveness) and every event frame (seq, stateVersion). */
export interface GatewayDialectHooks {
  onFrame?(): void;
  onEvent?(frame: GatewayEventFrame): void;
}

/**
 * The gateway dialect: canonical requests go out as `{"type":"req",…}`; `res` frames become
 * responses carrying the gateway's code, details, retryable and retryAfterMs; `event` frames
 * become events (their seq and stateVersion go to the hooks). The gateway takes no client
 * events, so encoding one is a SERIALIZATION error.
 */
export function createGatewayDialect(hooks: GatewayDialectHooks = {}): Dialect {
  return {
    name: 'openclaw-gateway',
    frames: 'text',
    cancellable: false,
    encode(message: IpcMessage) {
      const p = message.payload;
      if (p.type === 'request') {
        const frame: Record<string, unknown> = { type: 'req', id: message.id, method: p.method };
        if (p.params !== undefined) frame.params = p.params;
        return stringifyJson(frame);
      }
      if (p.type === 'response') {
        const frame: Record<string, unknown> = { type: 'res', id: message.id, ok: p.success };
        if (p.success) frame.payload = p.result;
        else
          frame.error = {
            code: typeof p.code === 'string' ? p.code : 'UNAVAILABLE',
            message: p.error ?? 'error',
          };
        return stringifyJson(frame);
      }
      throw new IpcError('SERIALIZATION', 'the gateway protocol has no client events');
    },
    decode(frame: Frame): IpcMessage {
      const value = parseGatewayFrame(frame);
      hooks.onFrame?.();
      switch (value.type) {
        case 'res':
          if (typeof value.id !== 'string') throw new IpcError('PROTOCOL', 'gateway res without an id');
          return { id: value.id, payload: responsePayload(value) };
        case 'event': {
          if (typeof value.event !== 'string') throw new IpcError('PROTOCOL', 'gateway event without a name');
          hooks.onEvent?.(value as unknown as GatewayEventFrame);
          return {
            id: newMessageId(),
            payload: {
              type: 'event',
              event_type: value.event,
              data: value.payload === undefined ? null : value.payload,
            },
          };
        }
        case 'req':
          if (typeof value.id !== 'string' || typeof value.method !== 'string')
            throw new IpcError('PROTOCOL', 'gateway req without id or method');
          return {
            id: value.id,
            payload: {
              type: 'request',
              method: value.method,
              params: value.params === undefined ? {} : value.params,
            },
          };
        default:
          throw new IpcError(
            'PROTOCOL',
            `unknown gateway frame type ${JSON.stringify(String(value.type)).slice(0, 40)}`,
          );
      }
    },
  };
}
