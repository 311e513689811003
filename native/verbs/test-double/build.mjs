#!/usr/bin/env node
// Builds native/verbs/build/libverbs-test-double.so: the TEST DOUBLE of libibverbs/librdmacm that
// only the verbs tests load (through OPENCLAW_IPC_LIBIBVERBS / OPENCLAW_IPC_LIBRDMACM) so the verbs
// provider's real code runs on machines without an RDMA device. It is not RDMA: see
// verbs_test_double.h. Idempotent: does nothing when the output is newer than every source.
// Usage: node native/verbs/test-double/build.mjs [--force] [--quiet]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSharedObject, reporter } from '../../build-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, '..', 'build', 'libverbs-test-double.so');

const ms = buildSharedObject({
  tag: 'verbs test double',
  srcDir: here,
  output,
  script: import.meta.url,
  check(fail) {
    for (const header of ['/usr/include/infiniband/verbs.h', '/usr/include/rdma/rdma_cma.h']) {
      if (!existsSync(header)) fail(`${header} not found: apt-get install libibverbs-dev librdmacm-dev`);
    }
  },
  args: (sources, tmp) => [
    '-O2',
    '-fPIC',
    '-shared',
    '-pthread',
    '-std=c11',
    '-D_GNU_SOURCE',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-fvisibility=hidden',
    ...sources,
    '-o',
    tmp,
  ],
});
if (ms !== undefined)
  reporter('verbs test double').log(`built ${output} in ${ms.toFixed(0)} ms (a test double, not RDMA)`);
