/**
 * Loading a native addon of this repository (native/<name>/build/<file>) once, the same way for
 * every transport that has one: an environment variable may name another build; otherwise the
 * folders above the loading module are searched (its src/ or dist/, then the repository root).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcError } from './errors.js';

export interface NativeAddonSpec<T> {
  /** `import.meta.url` of the loading module: the search starts in its folder. */
  readonly from: string;
  /** The addon's folder under native/, e.g. 'nng'. */
  readonly name: string;
  /** The built file in native/<name>/build/, e.g. 'nng.node'. */
  readonly file: string;
  /** The environment variable that names another build, e.g. 'OPENCLAW_NNG_ADDON'. */
  readonly envVar: string;
  /** Said in the error after the build command, e.g. '; it needs libnng1'. */
  readonly hint?: string;
  /** Runs once on the freshly loaded module (to install callbacks). */
  readonly init?: (mod: T) => void;
}

function addonPath(spec: Pick<NativeAddonSpec<unknown>, 'from' | 'name' | 'file' | 'envVar'>): string {
  const override = process.env[spec.envVar];
  if (override) return resolve(override);
  const start = dirname(fileURLToPath(spec.from));
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'native', spec.name, 'build', spec.file);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(start, '..', '..', '..', 'native', spec.name, 'build', spec.file);
}

/**
 * A function that loads the addon on its first call and returns the same module afterwards.
 * It throws IpcError UNAVAILABLE (the same one each time) when the addon is not built or a
 * library it links is missing.
 */
export function nativeAddonLoader<T>(spec: NativeAddonSpec<T>): () => T {
  let loaded: T | undefined;
  let loadError: IpcError | undefined;
  return () => {
    if (loaded) return loaded;
    if (loadError) throw loadError;
    const path = addonPath(spec);
    try {
      const mod = createRequire(spec.from)(path) as T;
      spec.init?.(mod);
      loaded = mod;
      return mod;
    } catch (err) {
      loadError = new IpcError(
        'UNAVAILABLE',
        `the ${spec.name} addon could not be loaded from ${path} (build it with ` +
          `\`node native/${spec.name}/build.mjs\`${spec.hint ?? ''}): ${(err as Error).message}`,
        { cause: err },
      );
      throw loadError;
    }
  };
}
