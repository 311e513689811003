// Our change to libnng's connections (native/nng/libnng.mjs, completion scopes), checked in C
// through nng's public stream API: fixtures/completion-scopes.c, built with cc against the same
// static libnng the addon links, on ipc:// and tcp://.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

const native = (file: string) => join(repoRoot, 'native', file);
const dir = mkdtempSync(join(tmpdir(), 'nng-scopes-'));
const program = join(dir, 'completion-scopes');

beforeAll(async () => {
  const { libnngPaths, mbedtlsPaths } = await import(native('deps.mjs'));
  const { hostTarget } = await import(native('targets.mjs'));
  const libnng = libnngPaths(hostTarget());
  const mbedtls = mbedtlsPaths(hostTarget());
  expect(existsSync(libnng.lib), `${libnng.lib} (npm run build makes it)`).toBe(true);
  execFileSync('cc', [
    '-O2',
    '-o',
    program,
    join(repoRoot, 'packages', 'nng', 'test', 'fixtures', 'completion-scopes.c'),
    `-I${libnng.include}`,
    '-DNNG_STATIC_LIB',
    libnng.lib,
    ...mbedtls.libs,
    '-lpthread',
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the program on `url`; its "<name> <value>" lines as a record. */
function run(url: string): Record<string, string> {
  const r = spawnSync(program, [url], { encoding: 'utf8', timeout: 20_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const at = line.indexOf(' ');
    out[at < 0 ? line : line.slice(0, at)] = at < 0 ? '' : line.slice(at + 1);
  }
  expect(out).toHaveProperty('end');
  return out;
}

describe.each([
  ['ipc', () => `ipc://${join(dir, 'scopes.ipc')}`],
  ['tcp', () => 'tcp://127.0.0.1:0'],
])('libnng completion scopes over %s', (_kind, url) => {
  let out: Record<string, string>;
  beforeAll(() => {
    out = run(url());
  });

  it('completes a read the poller finished on the poller thread, not a task thread', () => {
    expect(out['poller-read-thread']).toBe('nng:poll:epoll');
    expect(out['poller-read-bytes']).toBe('hello');
  });

  it("completes a write made in a scope on the caller's thread when the scope ends", () => {
    expect(out['scoped-write-before-leave']).toBe('0'); // never under the caller's locks
    expect(out['scoped-write-done-at-leave']).toBe('1');
    expect(out['scoped-write-on-caller']).toBe('1');
    expect(out['scoped-write-result']).toBe('0');
  });

  it("completes a read of buffered bytes made in a scope on the caller's thread", () => {
    expect(out['scoped-read-done-at-leave']).toBe('1');
    expect(out['scoped-read-on-caller']).toBe('1');
    expect(out['scoped-read-bytes']).toBe('scoped');
  });

  it('leaves completions outside a scope to the task threads', () => {
    expect(out['plain-write-on-caller']).toBe('0');
    expect(out['plain-write-thread']).toBe('nng:task');
  });

  it('sends every completion past a full ring to the task threads, losing none', () => {
    expect(out['many-ok']).toBe('40');
    expect(out['many-on-caller']).toBe('16');
    expect(out['many-received']).toBe('45');
  });

  it('completes a read waiting in a ring when its stream closes meanwhile', () => {
    expect(out['closed-read-result']).toBe('0');
    expect(out['closed-read-bytes']).toBe('closing');
  });
});
