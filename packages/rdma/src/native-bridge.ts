/**
 * What the TypeScript side uses of the native addon (native/verbs, loaded by ./native.ts),
 * loaded once, lazily: a machine without the built addon gets UNAVAILABLE with the reason
 * from every provider that needs it, and the rest of the package still loads.
 */

import { IpcError } from '@openclaw-ipc/core';
import { type CmaPeer, loadNative, type PeerCredentials, type ShmPeer, type VerbsAddon } from './native.js';

export type { PeerCredentials };
export type NativeAddon = VerbsAddon;
export type NativePeer = CmaPeer | ShmPeer;

let cached: { addon: NativeAddon } | { error: IpcError } | undefined;

/** The addon, or the reason it cannot be loaded. Never throws. */
export function tryNative(): { addon: NativeAddon } | { error: IpcError } {
  if (cached) return cached;
  try {
    cached = { addon: loadNative() };
  } catch (err) {
    cached = {
      error: new IpcError(
        'UNAVAILABLE',
        `the rdma native addon cannot be loaded: ${(err as Error).message}`,
        {
          cause: err,
          details: { reason: (err as { code?: string }).code ?? 'ENOENT' },
        },
      ),
    };
  }
  return cached;
}

/** The addon. @throws IpcError UNAVAILABLE with the reason. */
export function native(): NativeAddon {
  const n = tryNative();
  if ('error' in n) throw n.error;
  return n.addon;
}

/** CRC32C (Castagnoli) of `bytes`, continuing from `seed`. */
export const crc32c = (bytes: Uint8Array, seed = 0): number => native().crc32c(bytes, seed);

/** SO_PEERCRED of a connected Unix socket's fd. */
export const peerCredentials = (fd: number): PeerCredentials => native().peerCredentials(fd);
