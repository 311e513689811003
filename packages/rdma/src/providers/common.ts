/** Helpers shared by the same-host providers (shm, cma). */
import { IpcError } from '@openclaw-ipc/core';
import { COPY_CRC } from '../native.js';
import { type NativePeer, native } from '../native-bridge.js';
import {
  ACCESS_READ,
  type LocalRegion,
  type ProviderName,
  providerError,
  type RegionDescriptor,
  type RegisterOptions,
} from './provider.js';

/** The native table's expiry (CLOCK_MONOTONIC ns, 0 = never) for a ttl in ms. */
export function expiresNs(ttlMs: number | undefined): bigint {
  if (!ttlMs || ttlMs <= 0) return 0n;
  return native().monotonicNs() + BigInt(Math.ceil(ttlMs)) * 1_000_000n;
}

/** A u64 from a handshake value (number while exact, bigint beyond). */
export function peerAddress(v: unknown, name: string): bigint {
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  throw new IpcError('PROTOCOL', `rdma handshake: ${name} is missing or not a u64`);
}

/** Reads a descriptor's bytes (or a range of them) through a native peer. */
export async function readRange(
  provider: ProviderName,
  peer: NativePeer,
  d: RegionDescriptor,
  into: Uint8Array,
  intoOffset: number,
  range?: { offset: number; length: number },
): Promise<number | undefined> {
  const offset = range?.offset ?? 0;
  const length = range?.length ?? d.length - offset;
  if (offset < 0 || length < 0 || offset + length > d.length)
    throw new IpcError(
      'INVALID_ARGUMENT',
      `range ${offset}+${length} is outside the ${d.length}-byte region`,
    );
  if (intoOffset < 0 || intoOffset + length > into.byteLength)
    throw new IpcError(
      'INVALID_ARGUMENT',
      `${length} bytes do not fit at ${intoOffset} of a ${into.byteLength}-byte buffer`,
    );
  if (length === 0) return 0;
  try {
    // COPY_CRC: the CRC32C is computed while copying (one pass over the bytes).
    return await peer.read(d.key, d.addr + BigInt(offset), length, into, intoOffset, COPY_CRC);
  } catch (err) {
    throw providerError(provider, err);
  }
}

/**
 * Registers `bytes` in this process' registration table for a same-host provider and tracks
 * the region in `regions` until it is closed; `closed` runs once after deregistration (shm:
 * the arena goes back to its pool).
 */
export function registerInTable(
  provider: 'shm' | 'cma',
  bytes: Uint8Array,
  options: RegisterOptions,
  regions: Set<LocalRegion>,
  closed?: () => void,
): LocalRegion {
  let r: ReturnType<ReturnType<typeof native>['register']>;
  try {
    r = native().register(bytes, options.access ?? ACCESS_READ, expiresNs(options.ttlMs));
  } catch (err) {
    throw providerError(provider, err, 'register');
  }
  const descriptor: RegionDescriptor = {
    provider,
    key: r.key,
    addr: BigInt(r.addr),
    length: r.length,
    ...(provider === 'shm' ? { arena: r.arenaId } : {}),
  };
  const region: LocalRegion = {
    descriptor,
    bytes,
    close() {
      if (!regions.delete(region)) return;
      r.close();
      closed?.();
    },
  };
  regions.add(region);
  return region;
}
