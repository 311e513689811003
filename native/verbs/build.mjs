#!/usr/bin/env node
// Builds native/verbs/build/verbs.node with the system C compiler. No RDMA library is linked:
// the verbs provider dlopens libibverbs/librdmacm at first use, so the addon loads anywhere.
// Also runs test-double/build.mjs when present (the verbs test double, see its README).
// Idempotent: does nothing when the output is newer than every source.
// Usage: node native/verbs/build.mjs [--force] [--quiet]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'src');
const outDir = join(here, 'build');
const output = join(outDir, 'verbs.node');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const log = (msg) => quiet || console.log(`[verbs] ${msg}`);

function fail(message) {
  console.error(`[verbs] build failed: ${message}`);
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

// Node's own headers carry uv.h (libuv's, whose symbols the node binary exports). Without
// them src/uv_compat.h declares the few libuv calls the addon makes.
function uvInclude() {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.find((dir) => existsSync(join(dir, 'uv.h')));
}

function compiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0) return cc;
  }
  fail('no C compiler found (tried $CC, cc, gcc, clang); install build-essential');
}

function testDouble() {
  const script = join(here, 'test-double', 'build.mjs');
  if (!existsSync(script)) return;
  const args = [script, ...(force ? ['--force'] : []), ...(quiet ? ['--quiet'] : [])];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) fail(`${script} exited with ${r.status ?? r.signal}`);
}

const sources = readdirSync(srcDir)
  .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
  .map((f) => join(srcDir, f));
const inputs = [...sources, fileURLToPath(import.meta.url)];

if (!force && existsSync(output)) {
  const built = statSync(output).mtimeMs;
  if (inputs.every((f) => statSync(f).mtimeMs < built)) {
    log(`up to date: ${output}`);
    testDouble();
    process.exit(0);
  }
}

const cc = compiler();
mkdirSync(outDir, { recursive: true });
const tmp = `${output}.${process.pid}.tmp`;
const uv = uvInclude();
const args = [
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
  `-I${nodeApiInclude()}`,
  ...(uv ? [`-idirafter${uv}`] : []),
  ...sources.filter((f) => f.endsWith('.c')),
  '-o',
  tmp,
  '-ldl',
  '-lpthread',
];
const started = process.hrtime.bigint();
try {
  execFileSync(cc, args, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
} catch {
  fail(`${cc} ${args.join(' ')}`);
}
renameSync(tmp, output); // atomic: a concurrent loader never sees a half-written file
const ms = Number(process.hrtime.bigint() - started) / 1e6;
log(
  `built ${output} in ${ms.toFixed(0)} ms (${uv ? 'uv.h from the Node headers' : 'libuv declared in uv_compat.h'})`,
);
testDouble();
