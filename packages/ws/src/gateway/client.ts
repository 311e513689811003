/**
 * GatewayClient of the Node build: the gateway client of client-base.ts over the `ws` package,
 * with a device identity from node:crypto, kept in a key file.
 */
import { IpcError } from '@openclaw-ipc/core';
import { connectWs } from '../ws-connect.js';
import { GatewayClientBase, type GatewayClientBaseOptions, type GatewayPlatform } from './client-base.js';
import { DeviceIdentity } from './device.js';

export {
  type DeviceProver,
  GATEWAY_MAX_MESSAGE_SIZE,
  type GatewayClientBaseOptions,
  type GatewayPlatform,
  handshakeError,
  type SeqGap,
} from './client-base.js';

export interface GatewayClientOptions extends GatewayClientBaseOptions {
  /** Device identity: an identity, or the file its Ed25519 key is kept in (created on first use). */
  device?: DeviceIdentity | { keyFile: string };
}

const nodePlatform: GatewayPlatform = {
  dial: (url, options, signal) => connectWs(url, { ...options, heartbeatInterval: 0 }, signal),
  device(option) {
    if (option instanceof DeviceIdentity) return option;
    const keyFile = (option as { keyFile?: unknown } | null)?.keyFile;
    if (typeof keyFile !== 'string')
      throw new IpcError('INVALID_ARGUMENT', '`device` is a DeviceIdentity or { keyFile: string }');
    return DeviceIdentity.loadOrCreate(keyFile);
  },
  platform: process.platform,
};

/**
 * A client of the OpenClaw gateway (wire-formats.md §2) over `ws`: handshake on every
 * (re)connection, requests, events, seq gaps, the tick watchdog, `shutdown`, `sync()`.
 */
export class GatewayClient extends GatewayClientBase {
  /** Connects and completes the handshake; rejects with AUTH, PROTOCOL, UNAVAILABLE, CONNECT or TIMEOUT. */
  static async connect(options: GatewayClientOptions): Promise<GatewayClient> {
    const client = new GatewayClient(options);
    await client.start();
    return client;
  }

  /** @throws IpcError INVALID_ARGUMENT for an unknown option or an unreadable key file. */
  constructor(options: GatewayClientOptions) {
    super(options, nodePlatform);
  }
}
