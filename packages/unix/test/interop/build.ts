/**
 * Builds the independent sidecar peers (Go with vmihailenco/msgpack, Rust with rmp-serde) into
 * test/interop/.build. Idempotent: a peer is rebuilt only when its sources changed (a hash of
 * them is kept next to the binary). Needs `go` and `cargo` on PATH; the first build downloads
 * the modules/crates and takes a minute.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '.build');

function hashSources(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === 'target') continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(name).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

async function buildOnce(
  name: string,
  dir: string,
  build: (binary: string) => Promise<void>,
): Promise<string> {
  mkdirSync(out, { recursive: true });
  const binary = join(out, name);
  const stamp = `${binary}.sha256`;
  const hash = hashSources(dir);
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return binary;
  try {
    await build(binary);
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    const why = e.code === 'ENOENT' ? 'toolchain not on PATH' : (e.stderr ?? e.message);
    throw new Error(`building the ${name} interop peer failed: ${why}`);
  }
  writeFileSync(stamp, hash);
  return binary;
}

/** The Go sidecar peer (map encoding): `<socket>` (client) or `serve <socket>`. */
export function buildGoPeer(): Promise<string> {
  const dir = join(here, 'go');
  return buildOnce('sidecar-go-peer', dir, async (binary) => {
    await run('go', ['build', '-o', binary, '.'], {
      cwd: dir,
      env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });
  });
}

/** The Rust sidecar peer (compact array encoding): `client <socket>` or `serve <socket>`. */
export function buildRustPeer(): Promise<string> {
  const dir = join(here, 'rust');
  return buildOnce('sidecar-rust-peer', dir, async (binary) => {
    await run('cargo', ['build', '--release', '--quiet', '-j', '2'], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    });
    const built = join(dir, 'target', 'release', 'openclaw-ipc-unix-sidecar-peer');
    writeFileSync(binary, readFileSync(built), { mode: 0o755 });
  });
}
