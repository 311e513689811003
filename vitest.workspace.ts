// The test projects of the monorepo, one per package: the single list, imported by vitest.config.ts.

// Workspace packages resolve to their TypeScript sources through this export condition, so
// tests never run against a stale build.
const conditions = ['@openclaw-ipc/source', 'import', 'module', 'node', 'default'];

/**
 * CI runs the suite once under the system Node, then again under Node 24 and 26 with
 * OPENCLAW_SUITE_REPEAT=1 (.ci/run). The repeats leave out what does not depend on the Node that
 * runs the tests and costs minutes: the fault tests across network namespaces, and the browser
 * tests (Chromium, Deno, Bun, bundle sizes).
 */
const repeat = process.env.OPENCLAW_SUITE_REPEAT === '1';
const notRepeated = repeat ? ['test/browser-*.test.ts'] : [];

const pkg = (name: string, extra: Record<string, unknown> = {}) => ({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@openclaw-ipc/source'] } },
  test: {
    name,
    root: `./packages/${name}`,
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...notRepeated],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    ...extra,
  },
});

/**
 * The packed packages installed into a project in the OS temp folder, as users get them
 * (test/installed/). Its global setup packs every workspace in place (prepack rewrites each
 * package.json for a moment); vitest runs every global setup before the first test starts.
 */
const installed = {
  test: {
    name: 'installed',
    root: './test/installed',
    include: ['*.test.ts'],
    globalSetup: ['./global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
};

/**
 * Faults across hosts (test/faults/): servers in network namespaces the tests make, links cut,
 * delayed and lossy. Needs root, iproute2 and nftables.
 */
const faults = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@openclaw-ipc/source'] } },
  test: {
    name: 'faults',
    root: './test/faults',
    include: ['*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
};

export default [
  pkg('core'),
  pkg('unix'),
  pkg('nng'),
  pkg('ws'),
  pkg('file'),
  pkg('openclaw-ipc'),
  pkg('rdma'),
  installed,
  ...(repeat ? [] : [faults]),
];
