#!/usr/bin/env node
// Builds native/verbs/build/verbs.node with the system C compiler. No RDMA library is linked:
// the verbs provider dlopens libibverbs/librdmacm at first use, so the addon loads anywhere.
// Also runs test-double/build.mjs when present (the verbs test double, see its README).
// Idempotent: does nothing when the output is newer than every source.
// Usage: node native/verbs/build.mjs [--force] [--quiet]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSharedObject, force, nodeApiInclude, quiet, reporter } from '../build-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'build', 'verbs.node');
const { log, fail } = reporter('verbs');

// Node's own headers carry uv.h (libuv's, whose symbols the node binary exports). Without
// them src/uv_compat.h declares the few libuv calls the addon makes.
const uv = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
].find((dir) => existsSync(join(dir, 'uv.h')));

const ms = buildSharedObject({
  tag: 'verbs',
  srcDir: join(here, 'src'),
  output,
  script: import.meta.url,
  args: (sources, tmp) => [
    '-O2',
    '-fPIC',
    '-shared',
    '-std=gnu11',
    '-D_GNU_SOURCE',
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=verbs',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-fvisibility=hidden',
    `-I${nodeApiInclude(fail)}`,
    ...(uv ? [`-idirafter${uv}`] : []),
    ...sources,
    '-o',
    tmp,
    '-ldl',
    '-lpthread',
    // Never unloaded by a worker thread's exit: copies may still run on the thread pool, and
    // the fd-socket servers' atexit hook lives here.
    '-Wl,-z,nodelete',
  ],
});
if (ms !== undefined) {
  const how = uv ? 'uv.h from the Node headers' : 'libuv declared in uv_compat.h';
  log(`built ${output} in ${ms.toFixed(0)} ms (${how})`);
}

const testDouble = join(here, 'test-double', 'build.mjs');
if (existsSync(testDouble)) {
  const args = [testDouble, ...(force ? ['--force'] : []), ...(quiet ? ['--quiet'] : [])];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) fail(`${testDouble} exited with ${r.status ?? r.signal}`);
}
