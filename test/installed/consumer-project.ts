/**
 * The consumer project of the installed-package tests: every workspace packed with `npm pack`, the
 * tarballs installed with `npm install` into a fresh project in the OS temp folder, as a user
 * would. Nothing of the repository is reachable from it: it lies outside the repository, its
 * packages are real folders (no workspace links), and its processes run without NODE_PATH,
 * without the repository's node_modules/.bin on PATH and without the addon override variables.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The published packages, as a user names them. */
export const PACKAGES = [
  'openclaw-ipc',
  '@openclaw-ipc/core',
  '@openclaw-ipc/unix',
  '@openclaw-ipc/nng',
  '@openclaw-ipc/ws',
  '@openclaw-ipc/file',
  '@openclaw-ipc/rdma',
] as const;

/** A Node.js the consumer's programs run under. */
export interface ConsumerNode {
  /** e.g. "node 22" */
  label: string;
  major: number;
  /** Absolute path of its `node` executable. */
  bin: string;
}

/** One tarball, as `npm pack --json` reports it. */
export interface PackedTarball {
  name: string;
  filename: string;
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/** What the global setup made, handed to every test file through vitest's provide/inject. */
export interface ConsumerProject {
  /** The temp folder holding everything below; removed by the global teardown. */
  base: string;
  /** The consumer project (its package.json and node_modules). */
  dir: string;
  tarballs: PackedTarball[];
  /** This process' Node first, then the extra majors (OPENCLAW_INSTALLED_NODES). */
  nodes: ConsumerNode[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    consumer: ConsumerProject;
  }
}

/** Extra Node majors the programs run under besides this process' own. */
export function extraNodeMajors(): number[] {
  const list = process.env.OPENCLAW_INSTALLED_NODES ?? '22,24,26';
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
}

const isInside = (parent: string, child: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
};

/**
 * The environment of a consumer process under the Node executable `nodeBin`: this process'
 * environment without what would reach the repository (npm's lifecycle variables, NODE_PATH,
 * NODE_OPTIONS, the addon override variables, PATH entries inside the repository), with
 * `nodeBin`'s folder first on PATH so `node`, `npx` and bin scripts run under it.
 */
export function consumerEnv(nodeBin: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(npm_|VITEST)/i.test(key) || /^OPENCLAW_\w+_ADDON$/.test(key)) continue;
    if (['NODE_PATH', 'NODE_OPTIONS', 'INIT_CWD', 'OPENCLAW_INSTALLED_NODES'].includes(key)) continue;
    env[key] = value;
  }
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => p && !isInside(repoRoot, resolve(p)));
  env.PATH = [dirname(nodeBin), ...path].join(delimiter);
  return { ...env, ...extra };
}

const versionIn = (pkg: string): string =>
  JSON.parse(readFileSync(join(repoRoot, 'node_modules', pkg, 'package.json'), 'utf8')).version;

const BASE_PREFIX = 'openclaw-ipc-installed-';

/**
 * Removes consumer projects older than a day from the OS temp folder: what runs ended by a
 * crashed worker left (vitest then runs neither the teardown nor exit hooks). A day is far
 * longer than a run, so no running test's project is touched.
 */
export function removeStaleConsumerProjects(maxAgeMs = 24 * 3600_000): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(BASE_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > maxAgeMs) rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed meanwhile, or not ours to remove
    }
  }
}

/** A new folder under the OS temp folder for the consumer project and its tarballs. */
export function consumerBase(): string {
  const base = mkdtempSync(join(tmpdir(), BASE_PREFIX));
  if (isInside(repoRoot, base)) throw new Error(`the OS temp folder ${base} is inside the repository`);
  return base;
}

/**
 * Packs every workspace into `base`/tarballs and installs the tarballs, with TypeScript and
 * esbuild (the versions the repository builds with), into the new project `base`/consumer.
 */
export function createConsumerProject(base: string): Omit<ConsumerProject, 'nodes'> {
  const tarballDir = join(base, 'tarballs');
  const dir = join(base, 'consumer');
  mkdirSync(tarballDir);
  mkdirSync(dir);
  const env = consumerEnv(process.execPath);
  // The repository's own `npm pack`, as a release would run it (prepack strips the manifest).
  const pack = spawnSync(
    'npm',
    ['pack', '--workspaces', '--pack-destination', tarballDir, '--json', '--loglevel=error'],
    { cwd: repoRoot, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Its stderr holds the prepack/postpack banners: shown only when the pack failed.
  if (pack.status !== 0) throw new Error(`npm pack failed (${pack.status ?? pack.signal}):\n${pack.stderr}`);
  const packed = JSON.parse(pack.stdout) as Array<
    Omit<PackedTarball, 'files'> & { files: Array<{ path: string }> }
  >;
  const tarballs = packed.map((p) => ({
    name: p.name,
    filename: p.filename,
    size: p.size,
    unpackedSize: p.unpackedSize,
    files: p.files.map((f) => f.path).sort(),
  }));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'openclaw-ipc-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  // --ignore-scripts: the packages must work without an install script (npm 11 runs none unless
  // approved; older npm would run dependencies' scripts).
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      '--loglevel=error',
      ...tarballs.map((t) => join(tarballDir, t.filename)),
      `typescript@${versionIn('typescript')}`,
      `esbuild@${versionIn('esbuild')}`,
    ],
    { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { base, dir, tarballs };
}

/** This process' Node, then the extra majors, each installed once under .cache/node<major>/. */
export function consumerNodes(): ConsumerNode[] {
  const own = Number(process.versions.node.split('.')[0]);
  const nodes: ConsumerNode[] = [{ label: `node ${own}`, major: own, bin: process.execPath }];
  for (const major of extraNodeMajors()) {
    if (nodes.some((n) => n.major === major)) continue;
    const bin = execFileSync(process.execPath, [join(repoRoot, 'scripts', 'node-major.mjs'), String(major)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    nodes.push({ label: `node ${major}`, major, bin });
  }
  return nodes;
}
