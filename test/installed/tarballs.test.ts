// What each tarball holds, read from the consumer project where npm installed it: real folders, a
// license, a manifest that names only files it ships, dependencies that are exactly what its code
// and declarations import, a manifest npm would publish unchanged, and a README with no link into
// the repository.
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, run } from './child-process.js';
import { consumer, scratchDir } from './consumer.js';
import { consumerEnv, PACKAGES, repoRoot } from './consumer-project.js';

const installedDir = (name: string) => join(consumer().dir, 'node_modules', name);
const manifestOf = (name: string) =>
  JSON.parse(readFileSync(join(installedDir(name), 'package.json'), 'utf8'));
const tarballOf = (name: string) => {
  const t = consumer().tarballs.find((p) => p.name === name);
  if (!t) throw new Error(`npm pack made no tarball of ${name}`);
  return t;
};

const builtins = new Set(builtinModules);
/** The package a bare specifier names ('ws/lib/x' -> 'ws', '@a/b/c' -> '@a/b'), or undefined. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return builtins.has(name) ? undefined : name;
}
// `from` only as a keyword (after a space or `}`), not inside a string such as `'from' | 'name'`.
const SPECIFIERS = /(?:(?<=[\s}])from\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;
const specifiersIn = (code: string): string[] => [...code.matchAll(SPECIFIERS)].map((m) => m[1]!);

/** What a .d.ts specifier needs installed: the package if it has its own types, else @types/…. */
function typePackageFor(specifier: string): string {
  if (specifier.startsWith('node:') || builtins.has(specifier.split('/')[0]!)) return '@types/node';
  const name = packageOf(specifier)!;
  const pkg = JSON.parse(readFileSync(join(consumer().dir, 'node_modules', name, 'package.json'), 'utf8'));
  const ownTypes = pkg.types || pkg.typings || JSON.stringify(pkg.exports ?? {}).includes('"types"');
  return ownTypes ? name : `@types/${name.replace(/^@/, '').replace('/', '__')}`;
}

/** Dependencies the shipped files call for: their JavaScript's imports and their declarations' type packages. */
function neededDependencies(name: string): string[] {
  const needed = new Set<string>();
  for (const file of tarballOf(name).files) {
    const code = readFileSync(join(installedDir(name), file), 'utf8');
    if (/\.(c|m)?js$/.test(file)) {
      for (const s of specifiersIn(code)) {
        const p = packageOf(s);
        // A package may import itself by name (its own exports, e.g. the web page's import map).
        if (p && p !== name) needed.add(p);
      }
    } else if (/\.d\.(c|m)?ts$/.test(file)) {
      for (const s of specifiersIn(code)) if (!s.startsWith('.')) needed.add(typePackageFor(s));
      // Node's globals in a declaration (Buffer, NodeJS.*, AbortSignal, URL) come from @types/node.
      if (/\b(Buffer|NodeJS\.|AbortSignal|URL)\b/.test(code)) needed.add('@types/node');
    }
  }
  return [...needed].sort();
}

/** Every file a manifest field points at, as a path inside the package. */
function manifestTargets(manifest: Record<string, unknown>): string[] {
  const targets: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') targets.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  for (const field of ['main', 'module', 'types', 'exports', 'bin']) walk(manifest[field]);
  return targets.map((t) => posix.normalize(t));
}

describe.each(PACKAGES)('the tarball of %s', (name) => {
  it('is installed as a real folder inside the consumer project, not a link into the repository', () => {
    const real = realpathSync(installedDir(name));
    expect(relative(consumer().dir, real).startsWith('..')).toBe(false);
    expect(relative(repoRoot, real).startsWith('..')).toBe(true);
  });

  it('holds LICENSE, the repository root LICENSE byte for byte', () => {
    expect(tarballOf(name).files).toContain('LICENSE');
    expect(readFileSync(join(installedDir(name), 'LICENSE'), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'LICENSE'), 'utf8'),
    );
  });

  it('has a manifest without the repository-only source condition and pack scripts', () => {
    const text = readFileSync(join(installedDir(name), 'package.json'), 'utf8');
    expect(text).not.toContain('@openclaw-ipc/source');
    expect(text).not.toContain('publish-manifest');
  });

  it('ships every file its main, module, types, exports and bin name', () => {
    const files = tarballOf(name).files;
    const targets = manifestTargets(manifestOf(name));
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((t) => !files.includes(t))).toEqual([]);
  });

  it('ships every file its JavaScript and declarations import relatively', () => {
    const files = tarballOf(name).files;
    const missing: string[] = [];
    for (const file of files.filter((f) => /\.(c|m)?js$|\.d\.(c|m)?ts$/.test(f))) {
      const code = readFileSync(join(installedDir(name), file), 'utf8');
      for (const s of specifiersIn(code).filter((x) => x.startsWith('.'))) {
        const target = posix.join(posix.dirname(file), s);
        const candidates = [target, target.replace(/\.js$/, '.d.ts'), target.replace(/\.cjs$/, '.d.cts')];
        if (!candidates.some((c) => files.includes(c))) missing.push(`${file} -> ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('depends on exactly what its JavaScript imports and its declarations need', () => {
    const declared = Object.keys(manifestOf(name).dependencies ?? {}).sort();
    expect(declared).toEqual(neededDependencies(name));
    expect(manifestOf(name).devDependencies).toBeUndefined();
  });

  it('has a manifest that `npm pkg fix` leaves unchanged, without a warning (npm publish would warn)', async () => {
    const copy = join(scratchDir(), 'package');
    cpSync(installedDir(name), copy, { recursive: true, dereference: true });
    const before = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'));
    const r = await run('npm', ['pkg', 'fix'], {
      cwd: copy,
      env: consumerEnv(consumer().nodes[0]!.bin),
      timeoutMs: 30_000,
    });
    expect(r.code, describeRun('npm pkg fix', r)).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'))).toEqual(before);
  });

  it('has a README whose links are absolute (none into the repository)', () => {
    const readme = readFileSync(join(installedDir(name), 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.filter((l) => !/^(https?:\/\/|#)/.test(l))).toEqual([]);
  });
});

describe('the packages as npm lays them out', () => {
  it('holds no node_modules folder inside any of our packages (every dependency deduplicated)', () => {
    const nested = PACKAGES.filter((name) => existsSync(join(installedDir(name), 'node_modules')));
    expect(nested.map((n) => `${n}: ${readdirSync(join(installedDir(n), 'node_modules'))}`)).toEqual([]);
  });
});
