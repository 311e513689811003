#!/usr/bin/env node
// Builds native/verbs/build/libverbs-test-double.so: the TEST DOUBLE of libibverbs/librdmacm that
// only the verbs tests load (through OPENCLAW_IPC_LIBIBVERBS / OPENCLAW_IPC_LIBRDMACM) so the verbs
// provider's real code runs on machines without an RDMA device. It is not RDMA: see
// verbs_test_double.h. Idempotent: does nothing when the output is newer than every source.
// Usage: node native/verbs/test-double/build.mjs [--force] [--quiet]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'build');
const output = join(outDir, 'libverbs-test-double.so');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const log = (msg) => quiet || console.log(`[verbs test double] ${msg}`);

function fail(message) {
  console.error(`[verbs test double] build failed: ${message}`);
  process.exit(1);
}

function compiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0) return cc;
  }
  fail('no C compiler found (tried $CC, cc, gcc, clang); install build-essential');
}

const sources = readdirSync(here)
  .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
  .map((f) => join(here, f));
const inputs = [...sources, fileURLToPath(import.meta.url)];

if (!force && existsSync(output)) {
  const built = statSync(output).mtimeMs;
  if (inputs.every((f) => statSync(f).mtimeMs < built)) {
    log(`up to date: ${output}`);
    process.exit(0);
  }
}

for (const header of ['/usr/include/infiniband/verbs.h', '/usr/include/rdma/rdma_cma.h']) {
  if (!existsSync(header)) fail(`${header} not found: apt-get install libibverbs-dev librdmacm-dev`);
}
const cc = compiler();
mkdirSync(outDir, { recursive: true });
const tmp = `${output}.${process.pid}.tmp`;
const args = [
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
  ...sources.filter((f) => f.endsWith('.c')),
  '-o',
  tmp,
];
const started = process.hrtime.bigint();
try {
  execFileSync(cc, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
} catch {
  fail(`${cc} ${args.join(' ')}`);
}
renameSync(tmp, output); // atomic: a test loading it never sees a half-written file
const ms = Number(process.hrtime.bigint() - started) / 1e6;
log(`built ${output} in ${ms.toFixed(0)} ms (a test double, not RDMA)`);
