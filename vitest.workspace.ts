// The test projects of the monorepo: one per package. Vitest 3.2 reads this file natively.
import { defineWorkspace } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through this export condition, so
// tests never run against a stale build.
const conditions = ['@openclaw-ipc/source', 'import', 'module', 'node', 'default'];

const pkg = (name: string, extra: Record<string, unknown> = {}) => ({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@openclaw-ipc/source'] } },
  test: {
    name,
    root: `./packages/${name}`,
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    ...extra,
  },
});

export default defineWorkspace([
  pkg('core'),
  pkg('unix'),
  pkg('nng'),
  pkg('ws'),
  pkg('file'),
  pkg('openclaw-ipc'),
]);
