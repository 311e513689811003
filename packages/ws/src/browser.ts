/**
 * The browser build of @openclaw-ipc/ws (export condition `browser`): the same client API as the
 * Node build — `connectWsClient` (JSON-RPC 2.0 and forge) and `GatewayClient` — on the platform's
 * WebSocket, with WebCrypto device identity. Servers, the `ws` package and everything Node-only
 * stay out; docs/browser.md says what differs.
 */
import type { AnyContract, ConnectOptions, Contract, OptionNames, RpcClient } from '@openclaw-ipc/core';
import { CONNECT_OPTION_NAMES } from '@openclaw-ipc/core';
import { type BrowserWsConnectOptions, connectBrowserWs } from './browser-link.js';
import { startWsClient } from './ws-client.js';

export * from './browser-link.js';
export { CloseCode, closeCodeFor, errorForClose } from './close-codes.js';
export * from './dialects/forge.js';
export * from './dialects/jsonrpc.js';
export * from './gateway/browser-client.js';
export * from './gateway/device-payload.js';
export * from './gateway/protocol.js';
export * from './gateway/sync.js';
export * from './gateway/web-device.js';
export { WS_RECONNECT } from './ws-client.js';
export { wsDialects } from './ws-dialects.js';

/** What connectWsClient takes in the browser build: the client's options and the dial's. */
export type WsConnectOptions = BrowserWsConnectOptions;

const connectOptionNames: OptionNames<ConnectOptions & BrowserWsConnectOptions> = {
  ...CONNECT_OPTION_NAMES,
  highWaterMark: true,
  maxQueuedBytes: true,
  maxHeldFrames: true,
  connectTimeout: true,
  token: true,
  tokenIn: true,
  protocols: true,
};

/**
 * Connects an RpcClient to a WebSocket server (JSON-RPC by default, `dialect: 'forge'`) over the
 * platform's WebSocket.
 * @throws IpcError INVALID_ARGUMENT (a bad URL, an unknown option: e.g. `headers`, which a
 *   browser cannot send), CONNECT, TIMEOUT or ABORTED.
 */
export async function connectWsClient<C extends Contract = AnyContract>(
  url: string | URL,
  options: ConnectOptions<C> & BrowserWsConnectOptions = {},
): Promise<RpcClient<C>> {
  return startWsClient<C, BrowserWsConnectOptions>(url, options, connectOptionNames, connectBrowserWs);
}
