#!/usr/bin/env node
// Builds the nng addon into packages/nng/prebuilds/<platform>-<arch>/nng.napi.<libc>.node for
// each target (native/targets.mjs; default: this machine's), statically linked with libnng 1.5.2
// (Debian's source with our two changes) and Mbed TLS 2.28.3, both built for the target by
// native/deps.mjs. The output is sealed and checked (native/inspect.mjs) before it is kept.
// Idempotent: does nothing when an output is newer than every source and its libraries.
// Usage: node native/nng/build.mjs [--target <id>|all] [--force] [--quiet]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSharedObject, nodeApiInclude, reporter } from '../build-lib.mjs';
import { SOURCES } from '../debian-source.mjs';
import { ensureLibnng } from '../deps.mjs';
import { refuseBrokenAddon } from '../inspect.mjs';
import {
  addonLinkFlags,
  compatSources,
  compileFlags,
  prebuildPath,
  TARGETS,
  targetsFromArgv,
} from '../targets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..', 'packages', 'nng');

/** Builds (when needed) and checks the addon for one target; returns its path. */
export async function buildNngAddon(target) {
  const report = reporter(`nng ${target}`);
  const libnng = await ensureLibnng(target, report);
  const output = prebuildPath(packageDir, 'nng', target);
  const ms = buildSharedObject({
    tag: `nng ${target}`,
    srcDir: join(here, 'src'),
    output,
    script: import.meta.url,
    cc: TARGETS[target].cc,
    inputs: [libnng.lib, ...libnng.mbedtls.libs, ...compatSources(target)],
    rebuild: libnng.built,
    args: (sources, tmp, fail) => [
      ...compileFlags(target),
      '-std=c11',
      '-D_GNU_SOURCE',
      '-DNAPI_VERSION=8',
      '-DNODE_GYP_MODULE_NAME=nng',
      '-DNNG_STATIC_LIB',
      '-Wall',
      '-Wextra',
      '-Wno-unused-parameter',
      `-I${libnng.include}`,
      `-I${nodeApiInclude(fail)}`,
      ...sources,
      ...compatSources(target),
      '-o',
      tmp,
      libnng.lib,
      ...libnng.mbedtls.libs,
      '-lpthread',
      ...addonLinkFlags(target),
    ],
  });
  if (ms !== undefined) {
    refuseBrokenAddon(output, target, report.fail);
    report.log(
      `built ${output} in ${ms.toFixed(0)} ms (libnng ${SOURCES.nng.version}, Mbed TLS ${SOURCES.mbedtls.version}, sealed)`,
    );
  }
  return output;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let targets;
  try {
    targets = targetsFromArgv();
  } catch (err) {
    reporter('nng').fail(err.message);
  }
  for (const target of targets) await buildNngAddon(target);
}
