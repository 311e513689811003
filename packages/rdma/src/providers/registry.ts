/** The providers by name, loaded on first use. */
import type { ProviderName, RdmaProvider } from './provider.js';

export async function providerByName(name: ProviderName): Promise<RdmaProvider> {
  switch (name) {
    case 'shm':
      return (await import('./shm.js')).shmProvider;
    case 'cma':
      return (await import('./cma.js')).cmaProvider;
    case 'verbs':
      return (await import('./verbs.js')).verbsProvider;
  }
}
