#!/usr/bin/env node
// Brings a fresh machine (or a stale checkout) to a runnable state: Debian packages, npm
// dependencies, native addons, TypeScript builds. Idempotent and quick when all is there.
// Usage: node scripts/setup.mjs [--quiet] [--test] [--prebuild]
//   --test      also prepares what the test suites need (each package's optional setup.mjs),
//               including the prebuilds of every target, which the tests check and run
//   --prebuild  builds the prebuilds of every target (npm run prebuild)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restore as restorePackageJson } from './publish-manifest.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const forTests = process.argv.includes('--test');
const allTargets = process.argv.includes('--prebuild');
const say = (msg) => process.stderr.write(`[setup] ${msg}\n`);
const step = (msg) => {
  if (!quiet) say(msg);
};

const DEBIAN_PACKAGES = [
  // The addons link libnng 1.5.2 and Mbed TLS 2.28.3 built from Debian's sources for each target
  // (native/deps.mjs), with cmake; the arm64 and musl prebuilds are cross-built (native/targets.mjs)
  // and tested under qemu-user and a musl Node. Debian's own libnng serves nngcat (tests) and the
  // package's build-from-source command (its test).
  'cmake',
  'build-essential',
  'gcc-aarch64-linux-gnu',
  // gcc-aarch64-linux-gnu only recommends the arm64 C library's headers and start files, and
  // recommends are not installed here.
  'libc6-dev-arm64-cross',
  'musl-tools',
  'qemu-user',
  'iproute2',
  'nftables',
  'libnng-dev',
  'libnng1',
  'libmbedtls-dev',
  'nng-utils',
  'libibverbs-dev',
  'librdmacm-dev',
  // The browser build's tests run in Debian's Chromium, driven by playwright-core (which
  // downloads no browser): packages/ws/test/util/browser.ts.
  'chromium',
];

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    ...options,
  });
  if (r.status !== 0) {
    say(`failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function missingDebianPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) return [];
  return DEBIAN_PACKAGES.filter((pkg) => {
    try {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a template
      const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      return !status.includes('install ok installed');
    } catch {
      return true;
    }
  });
}

function debian() {
  const missing = missingDebianPackages();
  if (missing.length === 0) return step('Debian packages: present');
  const install = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages: ${missing.join(', ')}. Run as root:\n  ${install}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
};

/** Newest modification time of the files below `dir` (skipping dependencies and outputs). */
function newest(dir) {
  let latest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'build', 'target', '.cache', '.tsbuild'].includes(entry.name)) continue;
    const p = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(p) : mtime(p));
  }
  return latest;
}

function npmDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(marker) && mtime(marker) >= mtime(join(root, 'package-lock.json'))) {
    return step('npm dependencies: up to date');
  }
  say('installing npm dependencies (npm ci)');
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (ci.status === 0) return;
  process.stderr.write(ci.stderr ?? '');
  say(
    ci.stderr?.includes('EUSAGE')
      ? 'npm ci refused package-lock.json: it does not match the package.json files. Regenerate it ' +
          'against the npm registry with `npm install --package-lock-only` and commit it.'
      : `npm ci failed (exit ${ci.status ?? ci.signal})`,
  );
  process.exit(1);
}

/** The addons for this machine; with --test or --prebuild, for every target (native/targets.mjs). */
function nativeAddons() {
  const targets = forTests || allTargets ? ['--target', 'all'] : [];
  for (const name of ['nng', 'verbs']) {
    const script = join(root, 'native', name, 'build.mjs');
    if (existsSync(script)) run(process.execPath, [script, ...targets, ...(quiet ? ['--quiet'] : [])]);
  }
}

const PACKAGES = ['core', 'unix', 'nng', 'ws', 'file', 'rdma', 'openclaw-ipc'];

/** Puts back a package.json that an interrupted `npm pack` left stripped (scripts/publish-manifest.mjs). */
function repositoryManifests() {
  for (const name of PACKAGES) {
    if (restorePackageJson(join(root, 'packages', name)))
      say(`restored packages/${name}/package.json, left stripped by an interrupted npm pack`);
  }
}

function typescriptBuilds() {
  // A package is rebuilt when its sources, or those of a package before it, are newer than its dist.
  let upstream = Math.max(mtime(join(root, 'tsconfig.base.json')), mtime(join(root, 'tsup.package.ts')));
  for (const name of PACKAGES) {
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'src', 'index.ts'))) continue;
    const sources = Math.max(
      newest(join(dir, 'src')),
      mtime(join(dir, 'package.json')),
      mtime(join(dir, 'tsup.config.ts')),
      // ws ships the live gateway page of examples/web in its dist (tsup.config.ts copies it).
      name === 'ws' ? newest(join(root, 'examples', 'web')) : 0,
    );
    upstream = Math.max(upstream, sources);
    if (mtime(join(dir, 'dist', 'index.js')) >= upstream) continue;
    step(`building @openclaw-ipc/${name}`);
    run(process.execPath, [join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--silent'], {
      cwd: dir,
    });
  }
}

/** The Node binaries of the other targets the prebuild tests run (scripts/foreign-node.mjs). */
function foreignNodes() {
  for (const which of ['arm64', 'musl']) {
    step(`Node for ${which}`);
    run(process.execPath, [join(root, 'scripts', 'foreign-node.mjs'), which, '-e', '0']);
  }
}

function testPrerequisites() {
  foreignNodes();
  for (const name of PACKAGES) {
    const script = join(root, 'packages', name, 'setup.mjs');
    if (existsSync(script)) run(process.execPath, [script, ...(quiet ? ['--quiet'] : [])]);
  }
}

const started = Date.now();
repositoryManifests();
debian();
npmDependencies();
nativeAddons();
typescriptBuilds();
if (forTests) testPrerequisites();
step(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
