/**
 * Typed socket options and how they map onto nng's option names.
 */
import {
  accessMode,
  checkOptions,
  checkSocketFolder,
  IpcError,
  type SocketAccessOptions,
} from '@openclaw-ipc/core';
import { OPT_BOOL, OPT_INT, OPT_MS, OPT_SIZE } from './native.js';

/** Options every protocol accepts. Times are in milliseconds; -1 or Infinity: never. */
export interface SocketOptions {
  /** Default send timeout of operations that give none. Default: none. */
  sendTimeout?: number;
  /** Default receive timeout of operations that give none. Default: none. */
  recvTimeout?: number;
  /**
   * Largest message, in bytes, both ways; 0 for no limit. Default 1 MiB. An outgoing one over it
   * is MESSAGE_TOO_LARGE before it is sent (nng would otherwise drop the connection on the
   * receiving side without telling the sender); what happens to an incoming one depends on the
   * transport (nng's `recv-size-max`; see docs/nng.md, "Oversize messages").
   */
  maxMessageSize?: number;
  /** First delay before nng redials a lost or refused connection. nng default 100. */
  reconnectMinTime?: number;
  /** Largest delay between redials (exponential growth up to it); 0: stay at the minimum. */
  reconnectMaxTime?: number;
  /** Messages queued for sending per socket (0..8192). */
  sendBuffer?: number;
  /** Messages queued on receipt per socket (0..8192). */
  recvBuffer?: number;
  /** TCP_NODELAY on tcp:// and tls+tcp:// (nng default on). */
  tcpNoDelay?: boolean;
  /** SO_KEEPALIVE on tcp:// and tls+tcp://. */
  tcpKeepAlive?: boolean;
}

interface OptionSpec {
  name: string;
  type: number;
}

const specs: Record<keyof SocketOptions, OptionSpec> = {
  sendTimeout: { name: 'send-timeout', type: OPT_MS },
  recvTimeout: { name: 'recv-timeout', type: OPT_MS },
  maxMessageSize: { name: 'recv-size-max', type: OPT_SIZE },
  reconnectMinTime: { name: 'reconnect-time-min', type: OPT_MS },
  reconnectMaxTime: { name: 'reconnect-time-max', type: OPT_MS },
  sendBuffer: { name: 'send-buffer', type: OPT_INT },
  recvBuffer: { name: 'recv-buffer', type: OPT_INT },
  tcpNoDelay: { name: 'tcp-nodelay', type: OPT_BOOL },
  tcpKeepAlive: { name: 'tcp-keepalive', type: OPT_BOOL },
};

/** nng's duration for a user's milliseconds: -1 (infinite) for negative or non-finite values. */
export function toDuration(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return -1;
  return Math.min(Math.floor(ms), 0x7fffffff);
}

/** The option's nng name and value type; throws INVALID_ARGUMENT for an unknown key. */
export function optionSpec(key: string): OptionSpec {
  const spec = Object.hasOwn(specs, key) ? specs[key as keyof typeof specs] : undefined;
  if (!spec) checkOptions({ [key]: true }, socketOptionKeys, 'nng socket');
  return spec!;
}

/** Converts a user value for the option into what the addon expects. */
export function optionValue(spec: OptionSpec, key: string, value: unknown): unknown {
  switch (spec.type) {
    case OPT_MS:
      if (typeof value !== 'number') break;
      return toDuration(value);
    case OPT_SIZE:
    case OPT_INT:
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) break;
      return value;
    case OPT_BOOL:
      if (typeof value !== 'boolean') break;
      return value;
  }
  throw new IpcError('INVALID_ARGUMENT', `invalid value for nng option ${key}: ${String(value)}`);
}

const socketOptionKeys = Object.keys(specs);

/** The SocketOptions found in a larger options object (connect/listen options). */
export function pickSocketOptions(options: object): SocketOptions {
  const out: Record<string, unknown> = {};
  for (const key of socketOptionKeys) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as SocketOptions;
}

/**
 * Who may connect to a listener on `url`, as the addon's listen() takes it: the ipc:// socket
 * file's mode (after checking its folder). `allowedOrigins` is refused: nng's ws:// listener
 * cannot check an Origin.
 * @throws IpcError INVALID_ARGUMENT (a bad mode, allowedOrigins on ws://), AUTH (an unsafe socket folder).
 */
export function listenAccess(
  url: string,
  options: SocketAccessOptions & { allowedOrigins?: readonly string[] },
): { ipcPermissions?: number } {
  const socketMode = accessMode(options.socketMode, 'socketMode');
  if (url.startsWith('ipc://')) {
    checkSocketFolder(url.slice('ipc://'.length), options);
    return { ipcPermissions: socketMode };
  }
  if (options.allowedOrigins !== undefined && (url.startsWith('ws://') || url.startsWith('wss://')))
    throw new IpcError(
      'INVALID_ARGUMENT',
      `${url}: nng's ws:// listener cannot refuse browser origins (libnng 1.5 has no hook at the upgrade ` +
        'that is safe to close a connection from); serve browsers with the ws transport (ws://), or put ' +
        'a proxy that checks Origin in front',
    );
  return {};
}
