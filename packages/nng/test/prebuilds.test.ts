// The prebuilt addons this package ships (prebuilds/, made by native/nng/build.mjs for every
// target): what each ELF file links and exports, and that each runs in a Node of its own target
// — arm64 under qemu-user, x64 musl under a musl Node (scripts/foreign-node.mjs) — with TLS
// through the Mbed TLS linked into it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

const packageDir = join(repoRoot, 'packages', 'nng');
const TARGETS = [
  {
    id: 'linux-x64-glibc',
    file: 'linux-x64/nng.napi.glibc.node',
    needed: ['libc.so.6', 'libdl.so.2', 'libpthread.so.0'],
  },
  {
    id: 'linux-arm64-glibc',
    file: 'linux-arm64/nng.napi.glibc.node',
    needed: ['libc.so.6', 'libdl.so.2', 'libpthread.so.0'],
  },
  { id: 'linux-x64-musl', file: 'linux-x64/nng.napi.musl.node', needed: ['libc.so'] },
];

interface Inspection {
  machine: string;
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

let certDir: string;
beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'nng-prebuild-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ...['-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

/** Runs the round-trip fixture in the Node of another target; returns its output lines. */
function roundTripIn(which: 'arm64' | 'musl'): string[] {
  const r = spawnSync(
    process.execPath,
    [
      join(repoRoot, 'scripts', 'foreign-node.mjs'),
      which,
      join(packageDir, 'test', 'fixtures', 'prebuild-roundtrip.mjs'),
      join(certDir, 'cert.pem'),
      join(certDir, 'key.pem'),
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n');
}

describe('prebuilt nng addons', () => {
  for (const t of TARGETS) {
    it(`${t.id}: NEEDED holds only libc's libraries, only the Node-API entry is exported, glibc <= 2.28`, () => {
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

  it('the x64 prebuild serves TLS in Node 26, which exports Mbed TLS functions of its own', () => {
    const node26 = execFileSync(process.execPath, [join(repoRoot, 'scripts', 'node-major.mjs'), '26'], {
      encoding: 'utf8',
    }).trim();
    // The namesakes a shared Mbed TLS would bind to (and corrupt the heap with): the addon calls
    // only its own copy.
    const exported = execFileSync('nm', ['-D', '--defined-only', node26], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(exported.match(/ mbedtls_\w+$/gm)?.length ?? 0).toBeGreaterThan(100);
    const r = spawnSync(
      node26,
      [
        join(packageDir, 'test', 'fixtures', 'prebuild-roundtrip.mjs'),
        join(certDir, 'cert.pem'),
        join(certDir, 'key.pem'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'loaded nng.napi.glibc.node on x64 glibc: libnng 1.5.2, TLS mbed',
      'ipc 42',
      'tcp 42',
      'tls 42',
    ]);
  }, 150_000);

  it('the arm64 prebuild serves REQ/REP over ipc, tcp and tls in Node 26 for arm64 (qemu-user)', () => {
    expect(roundTripIn('arm64')).toEqual([
      'loaded nng.napi.glibc.node on arm64 glibc: libnng 1.5.2, TLS mbed',
      'ipc 42',
      'tcp 42',
      'tls 42',
    ]);
  }, 150_000);

  it('the musl prebuild serves REQ/REP over ipc, tcp and tls in a musl Node 24', () => {
    expect(roundTripIn('musl')).toEqual([
      'loaded nng.napi.musl.node on x64 musl: libnng 1.5.2, TLS mbed',
      'ipc 42',
      'tcp 42',
      'tls 42',
    ]);
  }, 150_000);
});
