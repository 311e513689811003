// Source tarballs from Debian's pool, pinned by the SHA-256 in Debian's .dsc, downloaded once
// into .cache/native/sources/. The native libraries our addons link statically (libnng, Mbed
// TLS) are built from these, for every target, by native/deps.mjs; musl, by the tests' musl
// Node (scripts/foreign-node.mjs).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const POOL = 'http://deb.debian.org/debian/pool/main';

/** The pinned sources, each as Debian's bookworm ships it. */
export const SOURCES = {
  nng: {
    version: '1.5.2',
    file: 'nng_1.5.2.orig.tar.gz',
    url: `${POOL}/n/nng/nng_1.5.2.orig.tar.gz`,
    // From Debian's nng_1.5.2-2.dsc (Checksums-Sha256).
    sha256: 'f8b25ab86738864b1f2e3128e8badab581510fa8085ff5ca9bb980d317334c46',
  },
  mbedtls: {
    version: '2.28.3',
    file: 'mbedtls_2.28.3.orig.tar.gz',
    url: `${POOL}/m/mbedtls/mbedtls_2.28.3.orig.tar.gz`,
    // From Debian's mbedtls_2.28.3-1.dsc (Checksums-Sha256).
    sha256: '3b4953aa55a681e084d31892d9904cc5328d6b4958ea57b90ae4b4f94ae69a8d',
  },
  // Only for running a musl Node in the tests (scripts/foreign-node.mjs): that Node's libraries
  // use RELR relocations, which bookworm's musl 1.2.3 cannot load. Never linked into an addon.
  musl: {
    version: '1.2.5',
    file: 'musl_1.2.5.orig.tar.gz',
    url: `${POOL}/m/musl/musl_1.2.5.orig.tar.gz`,
    // From Debian's musl_1.2.5-3.dsc (Checksums-Sha256).
    sha256: 'a9a118bbe84d8764da0ea0d28b3ab3fae8477fc7e4085d90102b8596fc7c75e4',
  },
};

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** The local path of a pinned tarball, downloading and checking it when needed. */
export async function pinnedTarball(name, cacheDir, fail) {
  const src = SOURCES[name];
  const dir = join(cacheDir, 'sources');
  const path = join(dir, src.file);
  if (existsSync(path) && sha256(readFileSync(path)) === src.sha256) return path;
  let res;
  try {
    res = await fetch(src.url);
  } catch (err) {
    fail(`cannot download ${src.url}: ${err.cause?.message ?? err.message}`);
  }
  if (!res.ok) fail(`cannot download ${src.url}: HTTP ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  if (sha256(data) !== src.sha256) fail(`${src.url}: unexpected SHA-256 ${sha256(data)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, data);
  renameSync(`${path}.${process.pid}.tmp`, path);
  return path;
}
