/** The providers by name, loaded on first use. */
import type { ProviderName, RdmaProvider } from './provider.js';

const unavailable = (name: ProviderName, reason: string): RdmaProvider => ({
  name,
  availability: () => ({ available: false, reason }),
  open: async () => {
    const { IpcError } = await import('@openclaw-ipc/core');
    throw new IpcError('UNAVAILABLE', `rdma provider ${name} is unavailable: ${reason}`);
  },
});

export async function providerByName(name: ProviderName): Promise<RdmaProvider> {
  switch (name) {
    case 'shm':
      return (await import('./shm.js')).shmProvider;
    case 'cma':
      return (await import('./cma.js')).cmaProvider;
    case 'verbs': {
      // The verbs provider (./verbs.ts) is written separately; until it is there, say so.
      const path = './verbs.js';
      try {
        return ((await import(path)) as { verbsProvider: RdmaProvider }).verbsProvider;
      } catch (err) {
        return unavailable(
          'verbs',
          `the verbs provider is not part of this build (${(err as Error).message})`,
        );
      }
    }
  }
}
