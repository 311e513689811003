// The addon search of every native package (node-gyp-build's rules from the package's own
// folder), on package folders made in the OS temp folder with real files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findNativeAddon,
  IpcError,
  nativeAddonLoader,
  parsePrebuildName,
  runtimeLibc,
} from '../src/index.js';

let root: string;
const envVar = 'OPENCLAW_TEST_ADDON';

/** A package folder named @test/addon with the given files; returns the `from` of its dist. */
function makePackage(files: string[], name = '@test/addon'): string {
  const dir = join(root, 'node_modules', ...name.split('/'));
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), 'not an ELF file');
  }
  return pathToFileURL(join(dir, 'dist', 'index.js')).href;
}

const spec = (from: string) => ({
  from,
  packageName: '@test/addon',
  name: 'thing',
  envVar,
  buildCommand: 'npx build-thing',
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'native-addon-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  delete process.env[envVar];
  delete process.env.LIBC;
  delete process.env.PREBUILDS_ONLY;
});

const here = `${process.platform}-${process.arch}`;
const libc = runtimeLibc();

describe('findNativeAddon', () => {
  it('reads prebuild names as node-gyp-build does', () => {
    expect(parsePrebuildName('nng.napi.glibc.node')).toMatchObject({
      napi: true,
      libc: 'glibc',
      specificity: 2,
    });
    expect(parsePrebuildName('nng.napi.node')).toMatchObject({ napi: true, libc: undefined, specificity: 1 });
    expect(parsePrebuildName('nng.napi.glibc.node.tmp')).toBeUndefined();
  });

  it("picks the prebuild of this platform and libc from the package's own folder", () => {
    const from = makePackage([
      `prebuilds/${here}/thing.napi.glibc.node`,
      `prebuilds/${here}/thing.napi.musl.node`,
      'prebuilds/darwin-arm64/thing.napi.node',
    ]);
    const found = findNativeAddon(spec(from));
    expect(found.path?.endsWith(join('prebuilds', here, `thing.napi.${libc}.node`))).toBe(true);
    expect(found.available).toContain(`${here} (glibc, musl)`);
    expect(found.available).toContain('darwin-arm64 (any libc)');
  });

  it('LIBC chooses the libc, as for node-gyp-build', () => {
    process.env.LIBC = 'musl';
    const from = makePackage([
      `prebuilds/${here}/thing.napi.glibc.node`,
      `prebuilds/${here}/thing.napi.musl.node`,
    ]);
    expect(findNativeAddon(spec(from)).path?.endsWith('thing.napi.musl.node')).toBe(true);
  });

  it('a build in build/Release wins over prebuilds unless PREBUILDS_ONLY is set', () => {
    const from = makePackage(['build/Release/thing.node', `prebuilds/${here}/thing.napi.node`]);
    expect(findNativeAddon(spec(from)).path?.endsWith(join('build', 'Release', 'thing.node'))).toBe(true);
    process.env.PREBUILDS_ONLY = '1';
    expect(findNativeAddon(spec(from)).path?.endsWith('thing.napi.node')).toBe(true);
  });

  it('the environment variable comes first', () => {
    const from = makePackage([`prebuilds/${here}/thing.napi.node`]);
    process.env[envVar] = join(root, 'elsewhere.node');
    expect(findNativeAddon(spec(from)).path).toBe(join(root, 'elsewhere.node'));
  });

  it("never takes another package's prebuilds: the folder is found by the package's name", () => {
    const from = makePackage([`prebuilds/${here}/thing.napi.node`], '@test/other');
    const found = findNativeAddon(spec(from));
    expect(found.path).toBeUndefined();
    expect(found.packageDir).toBeUndefined();
  });
});

describe('nativeAddonLoader', () => {
  it('no prebuild for this platform: UNAVAILABLE naming the platform, what the package has and the build command', () => {
    const from = makePackage([
      'prebuilds/darwin-arm64/thing.napi.node',
      'prebuilds/win32-x64/thing.napi.node',
    ]);
    const load = nativeAddonLoader(spec(from));
    let error: unknown;
    try {
      load();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('UNAVAILABLE');
    const message = (error as IpcError).message;
    expect(message).toContain(`no thing addon for ${here}`);
    expect(message).toContain('prebuilt for: darwin-arm64 (any libc), win32-x64 (any libc)');
    expect(message).toContain('`npx build-thing`');
    expect(() => load()).toThrow(error as Error);
  });

  it('a file that fails to load: UNAVAILABLE naming its path and the cause', () => {
    const from = makePackage([`prebuilds/${here}/thing.napi.node`]);
    const load = nativeAddonLoader(spec(from));
    expect(load).toThrow(IpcError);
    try {
      load();
    } catch (err) {
      expect((err as IpcError).message).toContain(join('prebuilds', here, 'thing.napi.node'));
      expect((err as IpcError).cause).toBeInstanceOf(Error);
    }
  });

  it('a bundle that inlined the package: UNAVAILABLE saying to keep it external', () => {
    mkdirSync(join(root, 'bundle'));
    const load = nativeAddonLoader(spec(pathToFileURL(join(root, 'bundle', 'app.js')).href));
    expect(load).toThrow(/keep it external/);
  });
});
