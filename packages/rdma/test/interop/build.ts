/**
 * Builds the Go sidecar peer (test/interop/go) into test/interop/.cache, ignored by git.
 * Idempotent: rebuilt only when its sources changed (their hash is kept beside the binary).
 * Needs `go` on PATH; the first build downloads the modules through the Go module proxy.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

export async function buildGoPeer(): Promise<string> {
  const dir = join(here, 'go');
  const out = join(here, '.cache');
  mkdirSync(out, { recursive: true });
  const binary = join(out, 'rdma-sidecar-peer');
  const stamp = `${binary}.sha256`;
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort()) hash.update(name).update(readFileSync(join(dir, name)));
  const digest = hash.digest('hex');
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return binary;
  try {
    await run('go', ['build', '-o', binary, '.'], {
      cwd: dir,
      env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    throw new Error(
      `building the Go rdma sidecar peer failed: ${e.code === 'ENOENT' ? 'go is not on PATH' : (e.stderr ?? e.message)}`,
    );
  }
  writeFileSync(stamp, digest);
  return binary;
}
