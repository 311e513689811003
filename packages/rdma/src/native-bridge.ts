/**
 * What the TypeScript side uses of the native addon (native/verbs, loaded by ./native.ts),
 * loaded once, lazily: a machine without the built addon gets UNAVAILABLE with the reason
 * from every provider that needs it, and the rest of the package still loads.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcError } from '@openclaw-ipc/core';

// TEMPORARY until ./native.ts (R1) lands: finds native/verbs/build/verbs.node upwards.
function loadNative(): unknown {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'native', 'verbs', 'build', 'verbs.node');
    if (existsSync(candidate)) return createRequire(import.meta.url)(candidate);
    dir = dirname(dir);
  }
  throw Object.assign(
    new Error('native/verbs/build/verbs.node not found (run node native/verbs/build.mjs)'),
    {
      code: 'ENOENT',
    },
  );
}

/** A registration of the native table. */
export interface NativeRegion {
  readonly key: number;
  readonly addr: bigint;
  readonly length: number;
  readonly arenaId: number;
  readonly arenaOffset: number;
  close(): void;
}

/** A one-sided reader of one peer (cma: process_vm_readv; shm: its mapped arenas). */
export interface NativePeer {
  /** Copies `length` bytes at `raddr` of registration `key` into `into` at `intoOffset`. */
  read(key: number, raddr: bigint, length: number, into: Uint8Array, intoOffset: number): Promise<unknown>;
  close(): void;
}

export interface NativeArena {
  readonly buffer: Buffer;
  readonly id: number;
  readonly size: number;
  close(): void;
}

/** The parts of the addon (see ./native.ts) the providers use. */
export interface NativeAddon {
  crc32c(bytes: Uint8Array, seed?: number): number;
  monotonicNs(): bigint;
  table(): { pid: number; addr: bigint; capacity: number };
  register(bytes: Uint8Array, access?: number, expiresNs?: bigint): NativeRegion;
  allocate(size: number): NativeArena;
  cmaPeer(pid: number, tableAddr: bigint): NativePeer;
  peerCredentials(fd: number): PeerCredentials;
  shmServe(path: string): { close(): void };
  shmAttach(path: string): Promise<NativePeer>;
}

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

let cached: { addon: NativeAddon } | { error: IpcError } | undefined;

/** The addon, or the reason it cannot be loaded. Never throws. */
export function tryNative(): { addon: NativeAddon } | { error: IpcError } {
  if (cached) return cached;
  try {
    cached = { addon: loadNative() as unknown as NativeAddon };
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
