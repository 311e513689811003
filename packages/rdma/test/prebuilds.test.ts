// The prebuilt addons this package ships (prebuilds/, made by native/verbs/build.mjs for every
// target): what each ELF file links and exports, and that each moves data in a Node of its own
// target — arm64 under qemu-user (shm: qemu-user does not translate process_vm_readv's
// addresses, so cma cannot work there), x64 musl under a musl Node (shm and cma).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(packageDir, '..', '..');
const TARGETS = [
  {
    id: 'linux-x64-glibc',
    file: 'linux-x64/verbs.napi.glibc.node',
    needed: ['libc.so.6', 'libdl.so.2', 'libpthread.so.0'],
  },
  {
    id: 'linux-arm64-glibc',
    file: 'linux-arm64/verbs.napi.glibc.node',
    needed: ['libc.so.6', 'libdl.so.2', 'libpthread.so.0'],
  },
  { id: 'linux-x64-musl', file: 'linux-x64/verbs.napi.musl.node', needed: ['libc.so'] },
];

interface Inspection {
  needed: string[];
  exported: string[];
  newestGlibc?: string;
  problems: string[];
}

const inspect = (target: string, file: string): Inspection =>
  JSON.parse(
    execFileSync(process.execPath, [join(repoRoot, 'native', 'inspect.mjs'), target, file], {
      encoding: 'utf8',
    }),
  );

/** Runs the transfer fixture in the Node of another target; returns its output lines. */
function transferIn(which: 'arm64' | 'musl', providers: string[]): string[] {
  const fixture = join(packageDir, 'test', 'fixtures', 'prebuild-transfer.mjs');
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, 'scripts', 'foreign-node.mjs'), which, fixture, ...providers],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n');
}

describe('prebuilt rdma addons', () => {
  for (const t of TARGETS) {
    it(`${t.id}: NEEDED holds only libc's libraries (no rdma-core), only the Node-API entry is exported, glibc <= 2.28`, () => {
      const file = join(packageDir, 'prebuilds', t.file);
      expect(existsSync(file)).toBe(true);
      const facts = inspect(t.id, file);
      expect(facts.problems).toEqual([]);
      expect(facts.needed.sort()).toEqual(t.needed);
      expect(facts.exported).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
      if (t.id.endsWith('glibc')) expect(Number(facts.newestGlibc?.split('.')[1])).toBeLessThanOrEqual(28);
      else expect(facts.newestGlibc).toBeUndefined();
    });
  }

  it('the arm64 prebuild sends and receives 4 MiB by shared memory in Node 26 for arm64 (qemu-user)', () => {
    expect(transferIn('arm64', ['shm'])).toEqual([
      'loaded verbs.napi.glibc.node on arm64 glibc',
      'shm sent true received true',
    ]);
  }, 150_000);

  it('the musl prebuild sends and receives 4 MiB by shared memory and by cross-memory attach in a musl Node 24', () => {
    expect(transferIn('musl', ['shm', 'cma'])).toEqual([
      'loaded verbs.napi.musl.node on x64 musl',
      'shm sent true received true',
      'cma sent true received true',
    ]);
  }, 150_000);
});
