#!/usr/bin/env node
// Builds native/nng/build/nng.node with the system C compiler against the shared libnng.so.1
// (Debian's libnng.a is not position-independent, see docs/nng.md). Idempotent: does nothing
// when the output is newer than every source. Usage: node native/nng/build.mjs [--force] [--quiet]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'src');
const outDir = join(here, 'build');
const output = join(outDir, 'nng.node');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const log = (msg) => quiet || console.log(`[nng] ${msg}`);

function fail(message) {
  console.error(`[nng] build failed: ${message}`);
  process.exit(1);
}

function nodeApiInclude() {
  const require = createRequire(import.meta.url);
  try {
    return require('node-api-headers').include_dir;
  } catch {
    fail('the npm package node-api-headers is missing; run npm install at the repository root');
  }
}

function findLibnng() {
  const candidates = ['/usr/include/nng/nng.h', '/usr/local/include/nng/nng.h'];
  if (!candidates.some((p) => existsSync(p))) {
    fail(
      'nng headers not found (nng/nng.h). Install the development package:\n' +
        '  apt-get install libnng-dev      (Debian/Ubuntu; brings libnng1)\n' +
        'or build nng 1.5 from source and install it under /usr/local.',
    );
  }
}

function compiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0) return cc;
  }
  fail('no C compiler found (tried $CC, cc, gcc, clang); install build-essential');
}

const sources = readdirSync(srcDir)
  .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
  .map((f) => join(srcDir, f));
const inputs = [...sources, fileURLToPath(import.meta.url)];

if (!force && existsSync(output)) {
  const built = statSync(output).mtimeMs;
  if (inputs.every((f) => statSync(f).mtimeMs < built)) {
    log(`up to date: ${output}`);
    process.exit(0);
  }
}

findLibnng();
const cc = compiler();
mkdirSync(outDir, { recursive: true });
const tmp = `${output}.${process.pid}.tmp`;
const args = [
  '-O2',
  '-fPIC',
  '-shared',
  '-std=c11',
  '-D_GNU_SOURCE',
  '-DNAPI_VERSION=8',
  '-DNODE_GYP_MODULE_NAME=nng',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-fvisibility=hidden',
  `-I${nodeApiInclude()}`,
  ...sources.filter((f) => f.endsWith('.c')),
  '-o',
  tmp,
  '-lnng',
  '-Wl,--as-needed',
];
const started = process.hrtime.bigint();
try {
  execFileSync(cc, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
} catch {
  fail(`${cc} ${args.join(' ')}`);
}
renameSync(tmp, output); // atomic: a concurrent loader never sees a half-written file
const ms = Number(process.hrtime.bigint() - started) / 1e6;
log(`built ${output} in ${ms.toFixed(0)} ms (linked against the shared libnng.so.1)`);
