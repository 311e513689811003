#!/usr/bin/env node
// The prepack step of a package that carries an addon (packages/nng, packages/rdma): refuses to
// pack unless the prebuilds of every target are there (`npm run prebuild` makes them), then
// copies into the package what its build command needs on a machine without a prebuild: the C
// sources (native/src/), the build script (native/build.mjs, from native/package-build.mjs) and
// its settings (native/build.json). These copies are build outputs, ignored by git.
// Usage (from the package's folder): node ../../scripts/pack-native.mjs nng|verbs
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prebuildPath, TARGETS } from '../native/targets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const ADDONS = {
  nng: {
    packageDir: join(root, 'packages', 'nng'),
    build: {
      name: 'nng',
      platforms: ['linux', 'darwin', 'freebsd'],
      std: 'c11',
      defines: ['NODE_GYP_MODULE_NAME=nng'],
      pkgConfig: ['nng'],
    },
  },
  verbs: {
    packageDir: join(root, 'packages', 'rdma'),
    build: {
      name: 'verbs',
      platforms: ['linux'],
      std: 'gnu11',
      defines: ['NODE_GYP_MODULE_NAME=verbs'],
      libs: ['-ldl'],
      optional: [
        {
          prefix: 'verbs',
          header: 'infiniband/verbs.h',
          what: 'the verbs provider (shm and cma work)',
          install: 'apt-get install libibverbs-dev librdmacm-dev to have it',
        },
      ],
    },
  },
};

const name = process.argv[2];
const addon = ADDONS[name];
if (!addon) {
  console.error('usage: node scripts/pack-native.mjs nng|verbs');
  process.exit(2);
}
const missing = Object.keys(TARGETS)
  .map((t) => prebuildPath(addon.packageDir, name, t))
  .filter((f) => !existsSync(f));
if (missing.length) {
  console.error(
    `[pack] prebuilds missing (run npm run prebuild at the repository root):\n  ${missing.join('\n  ')}`,
  );
  process.exit(1);
}
const out = join(addon.packageDir, 'native');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'src'), { recursive: true });
const src = join(root, 'native', name, 'src');
for (const f of readdirSync(src).filter((f) => f.endsWith('.c') || f.endsWith('.h'))) {
  copyFileSync(join(src, f), join(out, 'src', f));
}
copyFileSync(join(root, 'native', 'package-build.mjs'), join(out, 'build.mjs'));
writeFileSync(join(out, 'build.json'), `${JSON.stringify(addon.build, null, 2)}\n`);
