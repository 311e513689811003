// The static libraries our addons link, built from pinned Debian sources for one target:
//   Mbed TLS 2.28.3 -> .cache/native/<target>/mbedtls-2.28.3/{include,lib/libmbed*.a}
//   nng 1.5.2       -> .cache/native/<target>/libnng-1.5.2/{include,lib/libnng.a}
//                      (with our two changes, native/nng/libnng.mjs; TLS through that Mbed TLS)
// Position-independent, compiled with the target's flags (glibc pins included), so they can be
// linked into a sealed shared object. Idempotent: a stamp records the tarball, the build
// scripts and the flags each was built with.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedTarball, SOURCES } from './debian-source.mjs';
import { fixNngSources } from './nng/libnng.mjs';
import { cmakeTargetArgs, TARGETS } from './targets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const cacheDir = join(here, '..', '.cache', 'native');

/** Where a library is installed for a target. */
export function libraryPrefix(name, target) {
  return join(cacheDir, target, `${name === 'nng' ? 'libnng' : name}-${SOURCES[name].version}`);
}

/** The headers and static archives of Mbed TLS for a target (in link order). */
export function mbedtlsPaths(target) {
  const prefix = libraryPrefix('mbedtls', target);
  const lib = (n) => join(prefix, 'lib', `lib${n}.a`);
  return {
    prefix,
    include: join(prefix, 'include'),
    libs: [lib('mbedtls'), lib('mbedx509'), lib('mbedcrypto')],
  };
}

/** The headers and static archive of libnng for a target. */
export function libnngPaths(target) {
  const prefix = libraryPrefix('nng', target);
  return { prefix, include: join(prefix, 'include'), lib: join(prefix, 'lib', 'libnng.a') };
}

function run(cmd, args, fail) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed:\n${r.stdout ?? ''}${r.stderr ?? r.error ?? ''}`);
}

const fileHash = (...files) => {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex');
};

/**
 * Builds one pinned source with CMake for `target` into `prefix`, unless the stamp says it is
 * current. `patch(srcDir)` may edit the unpacked source first. Returns whether it built.
 */
async function cmakeLibrary({ name, target, prefix, args, patch, inputs, check }, { log, fail }) {
  const stamp = [
    SOURCES[name].sha256,
    fileHash(...inputs),
    JSON.stringify(cmakeTargetArgs(target)),
    ...args,
  ].join('\n');
  const stampPath = join(prefix, 'stamp');
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && check()) return false;
  const t0 = performance.now();
  const archive = await pinnedTarball(name, cacheDir, fail);
  const work = join(cacheDir, target, `${name}-work`);
  rmSync(work, { recursive: true, force: true });
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run('tar', ['-xzf', archive, '-C', work], fail);
  const src = join(work, readdirSync(work)[0]);
  try {
    patch?.(src);
  } catch (err) {
    fail(err.message);
  }
  const build = join(work, 'build');
  run(
    'cmake',
    ['-S', src, '-B', build, ...cmakeTargetArgs(target), `-DCMAKE_INSTALL_PREFIX=${prefix}`, ...args],
    fail,
  );
  run('cmake', ['--build', build, '--parallel', String(Math.max(1, cpus().length))], fail);
  run('cmake', ['--install', build], fail);
  writeFileSync(stampPath, stamp);
  rmSync(work, { recursive: true, force: true });
  log(
    `built ${name} ${SOURCES[name].version} for ${target} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return true;
}

/** Mbed TLS for `target`, static and position-independent, without its programs and tests. */
export async function ensureMbedtls(target, report) {
  const paths = mbedtlsPaths(target);
  const built = await cmakeLibrary(
    {
      name: 'mbedtls',
      target,
      prefix: paths.prefix,
      inputs: [fileURLToPath(import.meta.url)],
      check: () => paths.libs.every((f) => existsSync(f)),
      args: [
        '-DENABLE_PROGRAMS=OFF',
        '-DENABLE_TESTING=OFF',
        '-DGEN_FILES=OFF',
        '-DUSE_STATIC_MBEDTLS_LIBRARY=ON',
        '-DUSE_SHARED_MBEDTLS_LIBRARY=OFF',
        '-DMBEDTLS_FATAL_WARNINGS=OFF',
      ],
    },
    report,
  );
  return { ...paths, built };
}

/** libnng for `target` with our two changes (native/nng/libnng.mjs) and TLS through our Mbed TLS build. */
export async function ensureLibnng(target, report) {
  const mbedtls = await ensureMbedtls(target, report);
  const paths = libnngPaths(target);
  const built = await cmakeLibrary(
    {
      name: 'nng',
      target,
      prefix: paths.prefix,
      inputs: [fileURLToPath(import.meta.url), join(here, 'nng', 'libnng.mjs')],
      check: () => existsSync(paths.lib) && existsSync(join(paths.include, 'nng', 'openclaw_scopes.h')),
      patch: fixNngSources,
      args: [
        '-DNNG_ENABLE_TLS=ON',
        `-DMBEDTLS_ROOT_DIR=${mbedtls.prefix}`,
        '-DNNG_TESTS=OFF',
        '-DNNG_TOOLS=OFF',
        '-DNNG_ENABLE_NNGCAT=OFF',
        // arc4random exists only since glibc 2.36: getrandom (2.25) keeps the 2.28 floor.
        '-DNNG_HAVE_ARC4RANDOM=OFF',
      ],
    },
    report,
  );
  return { ...paths, mbedtls, built: built || mbedtls.built };
}

export { TARGETS };
