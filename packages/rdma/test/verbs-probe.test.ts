// The verbs provider with this machine's REAL libibverbs/librdmacm (no test double here): the
// machine has no RDMA device and its kernel has no InfiniBand support, so libibverbs'
// ibv_get_device_list fails with ENOSYS and the provider reports UNAVAILABLE saying so.
import { IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/native.js';
import { type VerbsNative, verbsOnRealDevice, verbsProvider } from '../src/providers/verbs.js';

const REASON =
  'libibverbs: ibv_get_device_list failed with ENOSYS (Function not implemented): the kernel has no InfiniBand/RDMA support (no /sys/class/infiniband_verbs)';

describe('verbs provider with the real libraries', () => {
  it('probe() loads libibverbs.so.1 / librdmacm.so.1 and reports ENOSYS from ibv_get_device_list', () => {
    const verbs = (loadNative() as { verbs: VerbsNative }).verbs;
    expect(verbs.probe()).toEqual({
      available: false,
      code: 'ENOSYS',
      errno: 38,
      reason: REASON,
      devices: [],
      ibverbs: 'libibverbs.so.1',
      rdmacm: 'librdmacm.so.1',
    });
  });

  it('availability() is UNAVAILABLE with that reason and open() rejects with IpcError UNAVAILABLE', async () => {
    expect(verbsProvider.availability()).toEqual({ available: false, reason: REASON, errno: 'ENOSYS' });
    expect(verbsOnRealDevice()).toBe(false);
    const err = await verbsProvider.open({ role: 'server', host: '127.0.0.1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', details: { provider: 'verbs', reason: 'ENOSYS' } });
    expect((err as Error).message).toContain(REASON);
  });

  it('open() of the native context fails with librdmacm ENODEV (no device), never a crash', () => {
    const verbs = (loadNative() as { verbs: VerbsNative }).verbs;
    expect(() => verbs.open()).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });
});
