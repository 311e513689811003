/**
 * Loads the Node-API addon this package carries (prebuilds/<platform>-<arch>/nng.napi.<libc>.node,
 * built from native/nng; see core's nativeAddonLoader for the search) on first use, and routes
 * its completions to the socket that owns them. The addon reports every completion through one dispatcher, called as
 * `dispatch.call(nativeSocket, kind, token, errno, value)`.
 */
import { nativeAddonLoader } from '@openclaw-ipc/core';

/** Event kinds of the addon (native/nng/src/addon.h). */
export const EV_DONE = 0;
export const EV_REQUEST = 1;
export const EV_PIPE = 2;

/** Option value types understood by setOpt/getOpt. */
export const OPT_MS = 0;
export const OPT_SIZE = 1;
export const OPT_INT = 2;
export const OPT_BOOL = 3;
export const OPT_STRING = 4;
export const OPT_BYTES = 5;

/** Receives the completions of one native socket. */
export interface NativeOwner {
  onNative(kind: number, token: number, errno: number, value: unknown): void;
}

/** The addon's Socket class, as JS sees it. Every method runs without blocking. */
export interface NativeSocket {
  owner?: NativeOwner;
  readonly id: number;
  /**
   * Binds and starts a listener. `ipcPermissions` (ipc:// only): the socket file's mode.
   * `allowedOrigins` (ws:// only): "\n"-separated origins or '*' whose pages may connect.
   */
  listen(url: string, tls?: object, ipcPermissions?: number): number;
  /** Non-blocking: returns the dialer id. Blocking: returns a token; the completion carries the id. */
  dial(url: string, block: boolean, tls?: object): number;
  closeEndpoint(id: number, isListener: boolean): void;
  /** The TCP port a tcp:// or ws:// listener bound, or 0. */
  boundPort(listenerId: number): number;
  setOpt(name: string, type: number, value: unknown): void;
  getOpt(name: string, type: number): unknown;
  send(data: Uint8Array | string, timeoutMs: number): number;
  recv(timeoutMs: number): number;
  request(data: Uint8Array | string, timeoutMs: number): number;
  serve(count: number): void;
  reply(token: number, data: Uint8Array | string): void;
  drop(token: number): void;
  cancel(token: number): void;
  close(): void;
  /** Received messages come as strings when they are valid UTF-8, else as bytes. */
  setText(on: boolean): void;
}

interface Addon {
  Socket: new (protocol: string) => NativeSocket;
  setCallback(
    fn: (this: NativeSocket, kind: number, token: number, errno: number, value: unknown) => void,
  ): void;
  version(): string;
  tlsEngine(): string;
  /** Replies held until the end of the batch they were made in (tests, diagnostics). */
  heldReplies(): number;
}

/**
 * The addon, loaded once.
 * @throws IpcError UNAVAILABLE when the package has no addon for this platform or it cannot load.
 */
export const addon = nativeAddonLoader<Addon>({
  from: import.meta.url,
  packageName: '@openclaw-ipc/nng',
  name: 'nng',
  envVar: 'OPENCLAW_NNG_ADDON',
  buildCommand: 'npx openclaw-ipc-build-nng',
  hint: ' (it needs a C compiler and libnng 1.5 or later: libnng-dev, or brew install nng)',
  init(mod) {
    mod.setCallback(function dispatch(kind, token, errno, value) {
      this.owner?.onNative(kind, token, errno, value);
    });
  },
});

/** The libnng version the addon runs on, e.g. "1.5.2". */
export const nngVersion = (): string => addon().version();

/** The TLS engine libnng was built with ("mbed", …), or "none". */
export const tlsEngine = (): string => addon().tlsEngine();
