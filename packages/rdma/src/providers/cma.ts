/**
 * The cma provider: cross-memory attach between processes of one host. A region is registered
 * in place (any memory) in this process' registration table; the peer reads it with
 * process_vm_readv, after reading and checking the table slot the same way (key, range,
 * access, expiry, seqlock) — all inside the native addon.
 */
import { readFileSync } from 'node:fs';
import { IpcError } from '@openclaw-ipc/core';
import { native, tryNative } from '../native-bridge.js';
import { peerAddress, readRange, registerInTable } from './common.js';
import {
  type Availability,
  type LocalRegion,
  type OpenOptions,
  type PeerContext,
  type ProviderEndpoint,
  probeOnce,
  providerError,
  type RdmaProvider,
  type RegisterOptions,
  type RemotePeer,
  unavailableError,
} from './provider.js';

function probe(): Availability {
  const n = tryNative();
  if ('error' in n) return { available: false, reason: n.error.message, errno: 'ENOENT' };
  if (process.platform !== 'linux')
    return { available: false, reason: 'process_vm_readv is Linux only', errno: 'ENOSYS' };
  try {
    const scope = readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
    if (scope === '2' || scope === '3')
      return {
        available: false,
        reason: `kernel.yama.ptrace_scope is ${scope}: process_vm_readv between unrelated processes needs CAP_SYS_PTRACE`,
        errno: 'EPERM',
      };
  } catch {
    // no Yama: plain ptrace rules (same uid) apply
  }
  return { available: true, detail: 'process_vm_readv' };
}

class CmaEndpoint implements ProviderEndpoint {
  readonly provider = 'cma' as const;
  readonly registersAnyMemory = true;
  private readonly regions = new Set<LocalRegion>();
  private closed = false;

  handshake(): Record<string, unknown> {
    const t = native().table();
    return { tableAddr: t.addr, capacity: t.capacity };
  }

  allocate(size: number): Uint8Array {
    return Buffer.allocUnsafe(size);
  }

  register(bytes: Uint8Array, options: RegisterOptions = {}): LocalRegion {
    if (this.closed) throw new IpcError('CLOSED', 'rdma cma endpoint closed');
    return registerInTable('cma', bytes, options, this.regions);
  }

  async connect(peer: PeerContext): Promise<RemotePeer> {
    if (peer.pid === undefined) throw new IpcError('INVALID_ARGUMENT', 'rdma cma needs the peer pid');
    const tableAddr = peerAddress(peer.handshake.tableAddr, 'tableAddr');
    let p: ReturnType<ReturnType<typeof native>['cmaPeer']>;
    try {
      p = native().cmaPeer(peer.pid, tableAddr);
    } catch (err) {
      throw providerError('cma', err, 'connect');
    }
    return {
      read: (d, into, intoOffset = 0, range) => readRange('cma', p, d, into, intoOffset, range),
      close: () => p.close(),
    };
  }

  close(): void {
    this.closed = true;
    for (const r of [...this.regions]) r.close();
  }
}

export const cmaProvider: RdmaProvider = {
  name: 'cma',
  availability: probeOnce(probe),
  async open(_options: OpenOptions): Promise<ProviderEndpoint> {
    const a = this.availability();
    if (!a.available) throw unavailableError('cma', a);
    return new CmaEndpoint();
  },
};
