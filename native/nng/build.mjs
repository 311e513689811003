#!/usr/bin/env node
// Builds native/nng/build/nng.node with the system C compiler, statically linked with libnng
// 1.5.2 built by ./libnng.mjs (Debian's source with our close fix; see docs/nng.md, "Building").
// Idempotent: does nothing when the output is newer than every source and libnng is built.
// Usage: node native/nng/build.mjs [--force] [--quiet]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSharedObject, nodeApiInclude, reporter } from '../build-lib.mjs';
import { ensureLibnng, NNG_VERSION } from './libnng.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'build', 'nng.node');
const report = reporter('nng');

const libnng = await ensureLibnng(join(here, 'build'), report);

const ms = buildSharedObject({
  tag: 'nng',
  srcDir: join(here, 'src'),
  output,
  script: import.meta.url,
  rebuild: libnng.built,
  check(fail) {
    if (!existsSync('/usr/include/mbedtls/ssl.h')) {
      fail('Mbed TLS headers not found (mbedtls/ssl.h): apt-get install libmbedtls-dev');
    }
  },
  args: (sources, tmp, fail) => [
    '-O2',
    '-fPIC',
    '-shared',
    '-std=c11',
    '-D_GNU_SOURCE',
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=nng',
    '-DNNG_STATIC_LIB',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-fvisibility=hidden',
    `-I${libnng.include}`,
    `-I${nodeApiInclude(fail)}`,
    ...sources,
    '-o',
    tmp,
    libnng.lib,
    '-lmbedtls',
    '-lmbedx509',
    '-lmbedcrypto',
    '-lpthread',
    '-Wl,--exclude-libs,ALL',
    // Never unloaded: a worker thread that loaded the addon first would otherwise dlclose it
    // when it exits, under nng's running threads.
    '-Wl,-z,nodelete',
  ],
});
if (ms !== undefined)
  report.log(`built ${output} in ${ms.toFixed(0)} ms (libnng ${NNG_VERSION} linked in statically)`);
