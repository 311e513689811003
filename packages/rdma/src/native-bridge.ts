/**
 * What the TypeScript side uses of the native addon (native/verbs, loaded by ./native.ts),
 * loaded once, lazily (by the loader of ./native.ts): a machine without the built addon gets UNAVAILABLE with the reason
 * from every provider that needs it, and the rest of the package still loads.
 */

import { IpcError } from '@openclaw-ipc/core';
import { type CmaPeer, loadNative, type PeerCredentials, type ShmPeer, type VerbsAddon } from './native.js';

export type { PeerCredentials };
export type NativeAddon = VerbsAddon;
export type NativePeer = CmaPeer | ShmPeer;

/** The addon, or the reason it cannot be loaded (IpcError UNAVAILABLE). Never throws. */
export function tryNative(): { addon: NativeAddon } | { error: IpcError } {
  try {
    return { addon: loadNative() };
  } catch (err) {
    return { error: IpcError.from(err, 'UNAVAILABLE') };
  }
}

/** The addon. @throws IpcError UNAVAILABLE with the reason. */
export const native = (): NativeAddon => loadNative();

/** CRC32C (Castagnoli) of `bytes`, continuing from `seed`. */
export const crc32c = (bytes: Uint8Array, seed = 0): number => native().crc32c(bytes, seed);

/** Copies `src` into the start of `dst` and returns the CRC32C of the bytes, in one pass. */
export const crc32cCopy = (dst: Uint8Array, src: Uint8Array, seed = 0): number =>
  native().crc32cCopy(dst, src, seed);

/** SO_PEERCRED of a connected Unix socket's fd. */
export const peerCredentials = (fd: number): PeerCredentials => native().peerCredentials(fd);

/**
 * Rendezvous reads of this many bytes or more go into the addon's receive buffers. Below it
 * Buffer.allocUnsafe is as cheap or cheaper: malloc serves up to 32 MiB from its heap (glibc's
 * dynamic mmap threshold), reusing freed memory without new page faults; above, every
 * allocation is a fresh mapping (measured: 64 MiB allocUnsafe + copy 45 ms CPU, receiveBuffer
 * + copy 9-12 ms; at 1 and 16 MiB allocUnsafe was as fast or faster).
 */
export const RECEIVE_BUFFER_MIN = 32 * 1024 * 1024;

/**
 * Memory for a rendezvous read: from RECEIVE_BUFFER_MIN bytes the addon's `receiveBuffer`
 * (populated up front, its mapping reused from a bounded cache once the Buffer is
 * garbage-collected, so a large read does not fault page by page), below that
 * Buffer.allocUnsafe.
 */
export const receiveBuffer = (length: number): Buffer =>
  length >= RECEIVE_BUFFER_MIN ? native().receiveBuffer(length) : Buffer.allocUnsafe(length);

/**
 * Sets the byte limit of the process-wide cache of receive buffers (default 256 MiB; 0: no
 * cache) and returns its state.
 */
export const receiveCache = (limit?: number) => native().receiveCache(limit);
