/**
 * GatewayClient of the browser build: the gateway client of client-base.ts over the platform's
 * WebSocket, with a device identity from WebCrypto kept in IndexedDB (web-device.ts).
 */
import { IpcError } from '@openclaw-ipc/core';
import { connectBrowserWs } from '../browser-link.js';
import { GatewayClientBase, type GatewayClientBaseOptions, type GatewayPlatform } from './client-base.js';
import { WebDeviceIdentity } from './web-device.js';

export {
  type DeviceProver,
  GATEWAY_MAX_MESSAGE_SIZE,
  type GatewayClientBaseOptions,
  type GatewayPlatform,
  handshakeError,
  type SeqGap,
} from './client-base.js';

export interface GatewayClientOptions extends GatewayClientBaseOptions {
  /**
   * Device identity: an identity the app made (WebDeviceIdentity.fromKeyPair, generate,
   * fromPkcs8), or the name of the one kept in IndexedDB (created on first use).
   */
  device?: WebDeviceIdentity | { keyName: string };
}

/** `navigator.platform` where the platform says, else 'web'. */
const platformName = (): string => {
  const nav = (globalThis as { navigator?: { platform?: unknown } }).navigator;
  return typeof nav?.platform === 'string' && nav.platform !== '' ? nav.platform : 'web';
};

const browserPlatform: GatewayPlatform = {
  dial: (url, options, signal) => connectBrowserWs(url, options, signal),
  device(option) {
    if (option instanceof WebDeviceIdentity) return option;
    const keyName = (option as { keyName?: unknown } | null)?.keyName;
    if (typeof keyName !== 'string')
      throw new IpcError('INVALID_ARGUMENT', '`device` is a WebDeviceIdentity or { keyName: string }');
    return WebDeviceIdentity.loadOrCreate(keyName);
  },
  get platform() {
    return platformName();
  },
};

/**
 * A client of the OpenClaw gateway in the browser: the API of the Node build's GatewayClient
 * (request, on, events, onEventFrame, onGap, onHello, onState, sync, close) on the platform
 * WebSocket. Default `client`: `{ id: 'gateway-client', mode: 'backend' }`; a page that needs
 * scopes passes `device` and `client: { id: 'openclaw-control-ui', mode: 'ui' }` (docs/browser.md).
 */
export class GatewayClient extends GatewayClientBase {
  /** Connects and completes the handshake; rejects with AUTH, PROTOCOL, UNAVAILABLE, CONNECT or TIMEOUT. */
  static async connect(options: GatewayClientOptions): Promise<GatewayClient> {
    const client = new GatewayClient(options);
    await client.start();
    return client;
  }

  /** @throws IpcError INVALID_ARGUMENT for an unknown option or a malformed `device`. */
  constructor(options: GatewayClientOptions) {
    super(options, browserPlatform);
  }
}
