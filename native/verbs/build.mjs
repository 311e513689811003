#!/usr/bin/env node
// Builds the RDMA addon into packages/rdma/prebuilds/<platform>-<arch>/verbs.napi.<libc>.node
// for each target (native/targets.mjs; default: this machine's). No RDMA library is linked: the
// verbs provider dlopens libibverbs/librdmacm at first use, so the addon loads anywhere. libuv
// is declared by src/uv_compat.h (Node exports libuv's symbols). The output is sealed and checked
// (native/inspect.mjs) before it is kept. For the host target it also builds the verbs test
// double (test-double/build.mjs, tests only, never shipped).
// Idempotent: does nothing when an output is newer than every source.
// Usage: node native/verbs/build.mjs [--target <id>|all] [--force] [--quiet]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSharedObject, force, nodeApiInclude, quiet, reporter } from '../build-lib.mjs';
import { refuseBrokenAddon } from '../inspect.mjs';
import {
  addonLinkFlags,
  compatSources,
  compileFlags,
  hostTarget,
  prebuildPath,
  TARGETS,
  targetsFromArgv,
} from '../targets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..', 'packages', 'rdma');

/**
 * musl-gcc searches only musl's headers. The verbs provider needs the declarations of
 * rdma-core (libibverbs-dev, librdmacm-dev) and the kernel's uapi headers they include, and
 * nothing else of glibc's: a folder of links to just those, searched after musl's own.
 */
function muslExtraIncludes(target) {
  if (TARGETS[target].libc !== 'musl') return [];
  const dir = join(here, '..', '..', '.cache', 'native', target, 'rdma-include');
  const links = {
    infiniband: '/usr/include/infiniband',
    rdma: '/usr/include/rdma',
    linux: '/usr/include/linux',
    'asm-generic': '/usr/include/asm-generic',
    asm: `/usr/include/${TARGETS[target].processor}-linux-gnu/asm`,
  };
  mkdirSync(dir, { recursive: true });
  for (const [name, to] of Object.entries(links)) {
    if (!existsSync(join(dir, name))) symlinkSync(to, join(dir, name));
  }
  return [`-idirafter${dir}`];
}

/** Builds (when needed) and checks the addon for one target; returns its path. */
export function buildVerbsAddon(target) {
  const report = reporter(`verbs ${target}`);
  const output = prebuildPath(packageDir, 'verbs', target);
  const ms = buildSharedObject({
    tag: `verbs ${target}`,
    srcDir: join(here, 'src'),
    output,
    script: import.meta.url,
    cc: TARGETS[target].cc,
    inputs: compatSources(target),
    args: (sources, tmp, fail) => [
      ...compileFlags(target),
      '-std=gnu11',
      '-D_GNU_SOURCE',
      '-DNAPI_VERSION=8',
      '-DNODE_GYP_MODULE_NAME=verbs',
      '-DOPENCLAW_UV_COMPAT',
      '-Wall',
      '-Wextra',
      '-Wno-unused-parameter',
      `-I${nodeApiInclude(fail)}`,
      ...muslExtraIncludes(target),
      ...sources,
      ...compatSources(target),
      '-o',
      tmp,
      '-lpthread',
      ...addonLinkFlags(target),
    ],
  });
  if (ms !== undefined) {
    refuseBrokenAddon(output, target, report.fail);
    report.log(`built ${output} in ${ms.toFixed(0)} ms (sealed; libibverbs/librdmacm by dlopen)`);
  }
  return output;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let targets;
  try {
    targets = targetsFromArgv();
  } catch (err) {
    reporter('verbs').fail(err.message);
  }
  for (const target of targets) buildVerbsAddon(target);
  const testDouble = join(here, 'test-double', 'build.mjs');
  if (targets.includes(hostTarget()) && existsSync(testDouble)) {
    const args = [testDouble, ...(force ? ['--force'] : []), ...(quiet ? ['--quiet'] : [])];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) reporter('verbs').fail(`${testDouble} exited with ${r.status ?? r.signal}`);
  }
}
