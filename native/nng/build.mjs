#!/usr/bin/env node
// Builds native/nng/build/nng.node with the system C compiler against the shared libnng.so.1
// (Debian's libnng.a is not position-independent, see docs/nng.md). Idempotent: does nothing
// when the output is newer than every source. Usage: node native/nng/build.mjs [--force] [--quiet]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSharedObject, nodeApiInclude, reporter } from '../build-lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'build', 'nng.node');

const ms = buildSharedObject({
  tag: 'nng',
  srcDir: join(here, 'src'),
  output,
  script: import.meta.url,
  check(fail) {
    if (!['/usr/include/nng/nng.h', '/usr/local/include/nng/nng.h'].some((p) => existsSync(p))) {
      fail(
        'nng headers not found (nng/nng.h). Install the development package:\n' +
          '  apt-get install libnng-dev      (Debian/Ubuntu; brings libnng1)\n' +
          'or build nng 1.5 from source and install it under /usr/local.',
      );
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
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-fvisibility=hidden',
    `-I${nodeApiInclude(fail)}`,
    ...sources,
    '-o',
    tmp,
    '-lnng',
    '-Wl,--as-needed',
    // Never unloaded: a worker thread that loaded the addon first would otherwise dlclose it
    // (and libnng, whose threads keep running) when it exits.
    '-Wl,-z,nodelete',
  ],
});
if (ms !== undefined)
  reporter('nng').log(`built ${output} in ${ms.toFixed(0)} ms (linked against the shared libnng.so.1)`);
