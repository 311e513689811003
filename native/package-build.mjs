#!/usr/bin/env node
// Builds this package's addon on the machine it is installed on, from the C sources the package
// carries (native/src/), for a platform it has no prebuild for. Shipped in @openclaw-ipc/nng and
// @openclaw-ipc/rdma as native/build.mjs (copied there when the package is packed, with
// native/build.json naming the addon and the libraries it links), and run as the package's bin
// (`npx openclaw-ipc-build-nng`, `npx openclaw-ipc-build-rdma`). The output goes to the package's
// build/Release/, which the package's loader tries before its prebuilds.
//
// Needs a C compiler ($CC, cc, gcc or clang) and Node-API headers: those of the running Node
// (official builds carry include/node), or the npm package node-api-headers. nng links the
// system's libnng (1.5 or later: Debian/Ubuntu libnng-dev, brew install nng), found through
// pkg-config when it is there. Unlike the prebuilds, this build links libnng as the system has
// it: dynamically, without our close fix (docs/packaging.md says what that means).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const config = JSON.parse(readFileSync(join(here, 'build.json'), 'utf8'));
const fail = (message) => {
  console.error(`[${config.name}] build failed: ${message}`);
  process.exit(1);
};

if (!config.platforms.includes(process.platform)) {
  fail(`the ${config.name} addon builds on ${config.platforms.join(', ')} only, not ${process.platform}`);
}

const cc = [process.env.CC, 'cc', 'gcc', 'clang']
  .filter(Boolean)
  .find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!cc) fail('no C compiler found (tried $CC, cc, gcc, clang)');

function nodeApiInclude() {
  const own = join(dirname(process.execPath), '..', 'include', 'node');
  if (existsSync(join(own, 'node_api.h'))) return own;
  try {
    return createRequire(join(process.cwd(), 'package.json'))('node-api-headers').include_dir;
  } catch {
    return fail(
      'no Node-API headers: this Node has no include/node; run `npm install --no-save node-api-headers`',
    );
  }
}

/** Compiler and linker flags of the libraries, from pkg-config when it knows them. */
function libraryFlags() {
  const flags = [];
  for (const lib of config.pkgConfig ?? []) {
    const r = spawnSync('pkg-config', ['--cflags', '--libs', lib], { encoding: 'utf8' });
    flags.push(...(r.status === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : [`-l${lib}`]));
  }
  return [...flags, ...(config.libs ?? [])];
}

/** True when `header` compiles here (with `flags`). */
function hasHeader(header, flags) {
  const r = spawnSync(cc, [...flags, '-x', 'c', '-fsyntax-only', '-'], {
    input: `#include <${header}>\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return r.status === 0;
}

const srcDir = join(here, 'src');
let sources = readdirSync(srcDir)
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(srcDir, f));
// A part that needs headers the machine may lack is left out, with a word, when they are missing
// (the verbs provider needs rdma-core's headers; shm and cma do not).
for (const part of config.optional ?? []) {
  if (hasHeader(part.header, [])) continue;
  sources = sources.filter((f) => !f.split('/').pop().startsWith(part.prefix));
  console.log(`[${config.name}] <${part.header}> not found: built without ${part.what} (${part.install})`);
}
const output = join(packageDir, 'build', 'Release', `${config.name}.node`);
const tmp = `${output}.${process.pid}.tmp`;
mkdirSync(dirname(output), { recursive: true });
const args = [
  '-O2',
  '-fPIC',
  '-fvisibility=hidden',
  `-std=${config.std}`,
  '-D_GNU_SOURCE',
  '-DNAPI_VERSION=8',
  ...(config.defines ?? []).map((d) => `-D${d}`),
  `-I${nodeApiInclude()}`,
  ...sources,
  '-o',
  tmp,
  ...libraryFlags(),
  '-lpthread',
  // Node-API functions are the host's: resolved when Node loads the addon.
  ...(process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared']),
];
console.log(`[${config.name}] ${cc} … -o ${output}`);
try {
  execFileSync(cc, args, { stdio: 'inherit' });
} catch {
  fail(`${cc} ${args.join(' ')}`);
}
renameSync(tmp, output);
console.log(`[${config.name}] built ${output}; the package loads it before its prebuilds`);
