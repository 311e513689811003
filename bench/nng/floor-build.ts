// Builds bench/nng/build/floor (floor.c) with cc against the same libnng as the addon: 1.5.2
// with our fix and Mbed TLS, built for this machine's target by native/deps.mjs (static), so
// that the floor and our binding run on one library. Rebuilt when floor.c or that library is newer than the program.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a build script without type declarations
import { libnngPaths, mbedtlsPaths } from '../../native/deps.mjs';
// @ts-expect-error: a build script without type declarations
import { hostTarget } from '../../native/targets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const libnng = libnngPaths(hostTarget());
const mbedtls = mbedtlsPaths(hostTarget());

export function buildFloor(): string {
  const src = join(here, 'floor.c');
  const out = join(here, 'build', 'floor');
  const { lib, include } = libnng;
  if (!existsSync(lib))
    throw new Error(`${lib} is missing: run node native/nng/build.mjs (or npm test) first`);
  const newest = Math.max(statSync(src).mtimeMs, statSync(lib).mtimeMs);
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync(
      'cc',
      ['-O2', '-o', out, src, `-I${include}`, '-DNNG_STATIC_LIB', lib, ...mbedtls.libs, '-lpthread'],
      { stdio: 'inherit' },
    );
  }
  return out;
}
