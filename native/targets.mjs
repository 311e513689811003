// The platforms our addons are prebuilt for, and how a C file becomes a shipped, sealed addon on
// each. One table, read by every native build script (libraries, addons, the prebuild script):
//
//   target             compiler (Debian package)                      libc      prebuild file
//   linux-x64-glibc    gcc (build-essential)                          glibc 2.28+ prebuilds/linux-x64/<name>.napi.glibc.node
//   linux-arm64-glibc  aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu)  glibc 2.28+ prebuilds/linux-arm64/<name>.napi.glibc.node
//   linux-x64-musl     musl-gcc (musl-tools)                          musl      prebuilds/linux-x64/<name>.napi.musl.node
//
// The file names follow prebuildify's layout and node-gyp-build's tag rules (napi, glibc|musl),
// which packages/core/src/native-addon.ts reads.
//
// Every addon is:
// - self-contained: libnng and Mbed TLS are static archives built for the target
//   (native/deps.mjs); NEEDED holds only libc's own libraries;
// - sealed: a version script exports only the Node-API entry points and makes everything
//   else local, so nothing inside binds to a namesake in the host process (Node 26 exports
//   Mbed TLS symbols of its own), and -Bsymbolic binds what stays global to our own copy;
// - glibc 2.28 compatible on glibc targets: a header generated from the target's libc.so.6
//   (glibc-pins.mjs), included in every compilation unit, pins the functions that newer glibc
//   versions moved (pthread_*, dl*) to their old versions, and glibc-compat.c replaces the few
//   calls that have no old version (stat, fstat).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePinsHeader } from './glibc-pins.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(here, '..', '.cache', 'native');

/** The oldest glibc our glibc prebuilds need: the one Node's own Linux builds need. */
export const GLIBC_FLOOR = '2.28';

export const TARGETS = {
  'linux-x64-glibc': {
    platform: 'linux',
    arch: 'x64',
    libc: 'glibc',
    cc: 'gcc',
    ar: 'ar',
    processor: 'x86_64',
    debian: ['build-essential'],
  },
  'linux-arm64-glibc': {
    platform: 'linux',
    arch: 'arm64',
    libc: 'glibc',
    cc: 'aarch64-linux-gnu-gcc',
    ar: 'aarch64-linux-gnu-ar',
    processor: 'aarch64',
    debian: ['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'],
  },
  'linux-x64-musl': {
    platform: 'linux',
    arch: 'x64',
    libc: 'musl',
    cc: 'musl-gcc',
    ar: 'ar',
    processor: 'x86_64',
    debian: ['musl-tools'],
  },
};

/** The libc of the running Node: glibc reports its version in process.report's header. */
export function hostLibc() {
  const header = process.report?.getReport?.().header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** The id of the target this process runs on, or undefined when we have no such target. */
export function hostTarget() {
  const id = `${process.platform}-${process.arch}-${hostLibc()}`;
  return id in TARGETS ? id : undefined;
}

/** `--target <id>` from argv (`all` for every target), else the host's. */
export function targetsFromArgv(argv = process.argv) {
  const i = argv.indexOf('--target');
  const wanted = i >= 0 ? argv[i + 1] : hostTarget();
  if (wanted === 'all') return Object.keys(TARGETS);
  if (!wanted || !(wanted in TARGETS)) {
    const known = Object.keys(TARGETS).join(', ');
    throw new Error(
      `unknown target ${wanted ?? `for ${process.platform}-${process.arch}`} (known: ${known})`,
    );
  }
  return [wanted];
}

/** Where a package carries the prebuild of `name` for `target` (prebuildify's layout). */
export function prebuildPath(packageDir, name, target) {
  const t = TARGETS[target];
  return join(packageDir, 'prebuilds', `${t.platform}-${t.arch}`, `${name}.napi.${t.libc}.node`);
}

/** True when the target's compiler runs here. */
export function hasCompiler(target) {
  return spawnSync(TARGETS[target].cc, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Flags for every compilation unit of a target (libraries and addons alike). */
export function compileFlags(target) {
  const flags = ['-O2', '-fPIC', '-fvisibility=hidden', '-ffunction-sections', '-fdata-sections'];
  const t = TARGETS[target];
  if (t.libc === 'glibc') {
    const header = join(cacheDir, target, `glibc-${GLIBC_FLOOR}-pins.h`);
    flags.push('-include', ensurePinsHeader(t.cc, GLIBC_FLOOR, header));
  }
  return flags;
}

/** Extra sources linked into every addon of a target. */
export function compatSources(target) {
  return TARGETS[target].libc === 'glibc' ? [join(here, 'glibc-compat.c')] : [];
}

/** Link flags that make a shared object a sealed, never-unloaded Node-API addon. */
export function addonLinkFlags(target) {
  const flags = [
    '-shared',
    `-Wl,--version-script=${join(here, 'addon.map')}`,
    '-Wl,-Bsymbolic',
    '-Wl,--exclude-libs,ALL',
    '-Wl,--gc-sections',
    '-Wl,--as-needed',
    '-static-libgcc',
    // Never unloaded: a worker thread that loaded the addon first would otherwise dlclose it
    // when it exits, under the addon's running threads.
    '-Wl,-z,nodelete',
    '-Wl,-z,noexecstack',
    // Shipped without a symbol table (the dynamic one keeps the two entry points).
    '-Wl,--strip-all',
  ];
  if (TARGETS[target].libc === 'glibc') {
    flags.push('-Wl,--wrap=stat', '-Wl,--wrap=fstat');
    // Before glibc 2.34 the pinned pthread_* and dl* functions live in these two libraries;
    // since then they are empty stubs. Named so an old glibc finds the functions.
    flags.push('-Wl,--no-as-needed', '-l:libpthread.so.0', '-l:libdl.so.2', '-Wl,--as-needed');
  }
  return flags;
}

/** CMake arguments that build a library for a target (cross-compiling where needed). */
export function cmakeTargetArgs(target) {
  const t = TARGETS[target];
  const cflags = compileFlags(target).join(' ');
  // Declaring the system makes CMake cross-compile; only for another architecture, so checks
  // that run a program still run for the host's own targets.
  const cross =
    t.arch !== process.arch ? ['-DCMAKE_SYSTEM_NAME=Linux', `-DCMAKE_SYSTEM_PROCESSOR=${t.processor}`] : [];
  return [
    ...cross,
    `-DCMAKE_C_COMPILER=${t.cc}`,
    `-DCMAKE_AR=${spawnSync('which', [t.ar], { encoding: 'utf8' }).stdout.trim() || t.ar}`,
    `-DCMAKE_C_FLAGS=${cflags}`,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_POSITION_INDEPENDENT_CODE=ON',
    '-DBUILD_SHARED_LIBS=OFF',
    '-DCMAKE_INSTALL_LIBDIR=lib',
  ];
}
