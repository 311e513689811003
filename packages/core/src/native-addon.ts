/**
 * Finding and loading the native addon a package carries, the same way for every package that
 * has one (@openclaw-ipc/nng, @openclaw-ipc/rdma), on first use and never at import time.
 *
 * The search, in order (node-gyp-build's rules, from the package's own folder):
 * 1. the environment variable of the addon (e.g. OPENCLAW_NNG_ADDON), naming a .node file;
 * 2. `<package>/build/Release/*.node`, then `build/Debug/` — a build made on this machine by the
 *    package's build command (skipped when PREBUILDS_ONLY is set);
 * 3. `<package>/prebuilds/<platform>-<arch>/<name>.<tags>.node` (prebuildify's layout): a file
 *    tagged `napi`, whose libc tag (`glibc`, `musl`), if any, is this process's libc; the most
 *    specific match wins.
 * `<package>` is the first folder above the loading module whose package.json has the package's
 * name, so a bundle that inlined the package finds nothing rather than someone else's files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcError } from './errors.js';

export interface NativeAddonSpec<T> {
  /** `import.meta.url` of the loading module: the search for the package starts in its folder. */
  readonly from: string;
  /** The package that carries the addon, e.g. '@openclaw-ipc/nng'. */
  readonly packageName: string;
  /** The addon's name in its prebuild files, e.g. 'nng' for `nng.napi.glibc.node`. */
  readonly name: string;
  /** The environment variable that names another build, e.g. 'OPENCLAW_NNG_ADDON'. */
  readonly envVar: string;
  /** The one command that builds the addon for this machine from what the package carries. */
  readonly buildCommand: string;
  /** Said after the build command, e.g. '; it needs libnng-dev'. */
  readonly hint?: string;
  /** Runs once on the freshly loaded module (to install callbacks). */
  readonly init?: (mod: T) => void;
}

/** Where the search looked and what it found. */
export interface NativeAddonSearch {
  /** The file to load, when one matches. */
  readonly path?: string;
  /** The package folder searched, when the package was found. */
  readonly packageDir?: string;
  /** What this process needs, e.g. 'linux-x64 (glibc)'. */
  readonly wanted: string;
  /** The prebuilds the package carries, e.g. ['linux-arm64 (glibc)', 'linux-x64 (glibc, musl)']. */
  readonly available: readonly string[];
}

/** The C library of this process: glibc reports its version in the diagnostic report. */
export function runtimeLibc(): 'glibc' | 'musl' | undefined {
  if (process.platform !== 'linux') return undefined;
  if (process.env.LIBC === 'glibc' || process.env.LIBC === 'musl') return process.env.LIBC;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function findPackageDir(from: string, packageName: string): string | undefined {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, 'utf8')).name === packageName) return dir;
      } catch {
        // an unreadable package.json is not ours; keep looking above it
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

interface PrebuildTags {
  readonly file: string;
  readonly napi: boolean;
  readonly libc?: string;
  readonly specificity: number;
}

/** The tags of a prebuild file name, as node-gyp-build reads them (undefined: not an addon). */
export function parsePrebuildName(file: string): PrebuildTags | undefined {
  const parts = file.split('.');
  if (parts.pop() !== 'node') return undefined;
  let napi = false;
  let libc: string | undefined;
  let specificity = 0;
  for (const tag of parts) {
    if (tag === 'napi') napi = true;
    else if (tag === 'glibc' || tag === 'musl') libc = tag;
    else if (!(tag === 'node' || tag.startsWith('abi') || tag.startsWith('uv') || tag.startsWith('armv')))
      continue;
    specificity++;
  }
  return { file, napi, libc, specificity };
}

/** Finds the addon file for this process without loading it. */
export function findNativeAddon(
  spec: Pick<NativeAddonSpec<unknown>, 'from' | 'packageName' | 'name' | 'envVar'>,
): NativeAddonSearch {
  const libc = runtimeLibc();
  const wanted = `${process.platform}-${process.arch}${libc ? ` (${libc})` : ''}`;
  const packageDir = findPackageDir(spec.from, spec.packageName);
  const available: string[] = [];
  if (packageDir) {
    for (const tuple of list(join(packageDir, 'prebuilds'))) {
      const libcs = list(join(packageDir, 'prebuilds', tuple))
        .map(parsePrebuildName)
        .filter((t): t is PrebuildTags => t?.napi === true)
        .map((t) => t.libc ?? 'any libc');
      if (libcs.length) available.push(`${tuple} (${[...new Set(libcs)].join(', ')})`);
    }
  }
  const override = process.env[spec.envVar];
  if (override) return { path: resolve(override), packageDir, wanted, available };
  if (!packageDir) return { wanted, available };

  if (!process.env.PREBUILDS_ONLY) {
    for (const sub of ['Release', 'Debug']) {
      const built = list(join(packageDir, 'build', sub)).find((f) => f.endsWith('.node'));
      if (built) return { path: join(packageDir, 'build', sub, built), packageDir, wanted, available };
    }
  }
  const tuple = list(join(packageDir, 'prebuilds'))
    .map((name) => ({ name, parts: name.split('-') }))
    .filter(({ parts }) => parts.length === 2 && parts[0] === process.platform)
    .map(({ name, parts }) => ({ name, arches: parts[1].split('+') }))
    .filter(({ arches }) => arches.includes(process.arch))
    .sort((a, b) => a.arches.length - b.arches.length)[0];
  if (tuple) {
    const winner = list(join(packageDir, 'prebuilds', tuple.name))
      .map(parsePrebuildName)
      .filter((t): t is PrebuildTags => t?.napi === true && (!t.libc || t.libc === libc))
      .sort((a, b) => b.specificity - a.specificity)[0];
    if (winner)
      return { path: join(packageDir, 'prebuilds', tuple.name, winner.file), packageDir, wanted, available };
  }
  return { packageDir, wanted, available };
}

function unavailable(spec: NativeAddonSpec<unknown>, search: NativeAddonSearch, cause?: unknown): IpcError {
  const build = `build it for this machine with \`${spec.buildCommand}\`${spec.hint ?? ''}`;
  let message: string;
  if (search.path) {
    message =
      `the ${spec.name} addon at ${search.path} could not be loaded on ${search.wanted}: ` +
      `${(cause as Error)?.message ?? cause}; ${build}`;
  } else if (!search.packageDir) {
    message =
      `the ${spec.name} addon was not found: ${spec.packageName} is not installed as a package ` +
      '(a bundler that inlines it loses its prebuilds: keep it external)';
  } else {
    const has = search.available.length ? search.available.join(', ') : 'none';
    message =
      `${spec.packageName} has no ${spec.name} addon for ${search.wanted} (prebuilt for: ${has}); ` +
      `${build}, or set ${spec.envVar} to a .node file`;
  }
  return new IpcError('UNAVAILABLE', message, {
    cause,
    details: { wanted: search.wanted, available: search.available, path: search.path },
  });
}

/**
 * A function that loads the addon on its first call and returns the same module afterwards.
 * It throws IpcError UNAVAILABLE (the same one each time) when there is no addon for this
 * platform or it cannot be loaded; the message names the platform, the prebuilds the package
 * has and the command that builds one here.
 */
export function nativeAddonLoader<T>(spec: NativeAddonSpec<T>): () => T {
  let loaded: T | undefined;
  let loadError: IpcError | undefined;
  return () => {
    if (loaded) return loaded;
    if (loadError) throw loadError;
    const search = findNativeAddon(spec);
    if (!search.path) {
      loadError = unavailable(spec as NativeAddonSpec<unknown>, search);
      throw loadError;
    }
    try {
      const mod = createRequire(spec.from)(search.path) as T;
      spec.init?.(mod);
      loaded = mod;
      return mod;
    } catch (err) {
      loadError = unavailable(spec as NativeAddonSpec<unknown>, search, err);
      throw loadError;
    }
  };
}
