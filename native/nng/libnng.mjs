// libnng for the addon: nng 1.5.2 from Debian's source tarball (the release Debian ships as
// libnng1), with one fix of ours, built as a position-independent static library and linked
// into nng.node. Why not Debian's libnng.so.1: in 1.5.2 a pipe's transport resubmits a partial
// write or read after the pipe was closed; the stream aio is stopped by then, so that write
// never completes, the protocol's send aio waits for it forever, and nng's reaper (and with it
// every later nng_close) hangs. Seen here as nng_close never returning when a REP socket closes
// with large replies still being written, and in CI under Node 24. The fix: ipc://, tcp:// and
// tls+tcp:// pipes fail their queued operations with NNG_ECLOSED instead of resubmitting once
// closed (the tls pipe also gets the `closed` flag the other two already set).
//
// Used by native/nng/build.mjs. Idempotent: a stamp records the tarball and fix it was built
// from. Needs cmake, a C compiler and libmbedtls-dev (TLS), which scripts/setup.mjs installs.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export const NNG_VERSION = '1.5.2';
const TARBALL = `nng_${NNG_VERSION}.orig.tar.gz`;
const TARBALL_URL = `http://deb.debian.org/debian/pool/main/n/nng/${TARBALL}`;
// From Debian's nng_1.5.2-2.dsc (Checksums-Sha256).
const TARBALL_SHA256 = 'f8b25ab86738864b1f2e3128e8badab581510fa8085ff5ca9bb980d317334c46';

/** The transports' files and, per file, the names its pipe uses. */
const TRANSPORTS = [
  { file: 'src/sp/transport/ipc/ipc.c', tx: 'tx_aio', rx: 'rx_aio', sendq: 'send_q', stream: 'conn' },
  { file: 'src/sp/transport/tcp/tcp.c', tx: 'txaio', rx: 'rxaio', sendq: 'sendq', stream: 'conn' },
  { file: 'src/sp/transport/tls/tls.c', tx: 'txaio', rx: 'rxaio', sendq: 'sendq', stream: 'tls' },
];

/**
 * Applies our fix to one transport's source text; throws when an expected spot is not found
 * (another nng version), so a build never silently goes without it.
 */
export function fixTransport(text, t) {
  let out = text;
  // 1. The send callback: a partial write is resubmitted only while the pipe is open.
  const partialSend = new RegExp(
    `(\\tif \\(nni_aio_iov_count\\(${t.tx}\\) (?:!= 0|> 0)\\) \\{\\n)(\\t\\tnng_stream_send\\(p->${t.stream}, ${t.tx}\\);)`,
  );
  if (!partialSend.test(out)) throw new Error(`${t.file}: partial-write resubmission not found`);
  out = out.replace(
    partialSend,
    (_m, head, call) =>
      `${head}\t\tif (p->closed) { /* openclaw-ipc: never resubmit on a closed pipe */\n` +
      `\t\t\twhile ((aio = nni_list_first(&p->${t.sendq})) != NULL) {\n` +
      '\t\t\t\tnni_aio_list_remove(aio);\n' +
      '\t\t\t\tnni_aio_finish_error(aio, NNG_ECLOSED);\n' +
      '\t\t\t}\n' +
      '\t\t\tnni_mtx_unlock(&p->mtx);\n' +
      '\t\t\treturn;\n' +
      '\t\t}\n' +
      call,
  );
  // 2. The receive callback: the rest of a header or a body is read only while the pipe is open.
  const start = out.indexOf('_pipe_recv_cb(void *arg)\n{');
  if (start < 0) throw new Error(`${t.file}: receive callback not found`);
  const end = out.indexOf('\n}\n', start);
  let body = out.slice(start, end);
  const label = body.includes('recv_error:') ? 'recv_error' : 'error';
  const resubmit = new RegExp(`\\n(\\t+)(nng_stream_recv\\(p->${t.stream}, ${t.rx}\\);)`, 'g');
  let count = 0;
  body = body.replace(resubmit, (_m, indent, call) => {
    count++;
    return (
      `\n${indent}if (p->closed) { /* openclaw-ipc: never resubmit on a closed pipe */\n` +
      `${indent}\trv = NNG_ECLOSED;\n${indent}\tgoto ${label};\n${indent}}\n${indent}${call}`
    );
  });
  if (count !== 2) throw new Error(`${t.file}: expected 2 read resubmissions, found ${count}`);
  out = out.slice(0, start) + body + out.slice(end);
  // 3. The tls pipe records that it is closed (ipc and tcp already do, under the pipe's lock).
  if (t.stream === 'tls') {
    const close = /(tlstran_pipe_close\(void \*arg\)\n\{\n\ttlstran_pipe \*p = arg;\n\n)/;
    if (!close.test(out)) throw new Error(`${t.file}: pipe close not found`);
    out = out.replace(
      close,
      '$1\tnni_mtx_lock(&p->mtx);\n\tp->closed = true;\n\tnni_mtx_unlock(&p->mtx);\n\n',
    );
  }
  return out;
}

function run(cmd, args, fail, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed:\n${r.stdout ?? ''}${r.stderr ?? r.error ?? ''}`);
  return r.stdout;
}

async function tarball(dir, fail) {
  const path = join(dir, TARBALL);
  const sha = (buf) => createHash('sha256').update(buf).digest('hex');
  if (existsSync(path) && sha(readFileSync(path)) === TARBALL_SHA256) return path;
  let res;
  try {
    res = await fetch(TARBALL_URL);
  } catch (err) {
    fail(`cannot download ${TARBALL_URL}: ${err.cause?.message ?? err.message}`);
  }
  if (!res.ok) fail(`cannot download ${TARBALL_URL}: HTTP ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  if (sha(data) !== TARBALL_SHA256) fail(`${TARBALL_URL}: unexpected SHA-256 ${sha(data)}`);
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
  return path;
}

/**
 * Makes sure `<buildDir>/libnng-1.5.2/{include,lib/libnng.a}` exist and are built from the
 * pinned tarball with the current fix. Returns their paths and whether it built them now.
 */
/** Where ensureLibnng() installs libnng under `buildDir`: its headers and static library. */
export function libnngPaths(buildDir) {
  const prefix = join(buildDir, `libnng-${NNG_VERSION}`);
  return { prefix, include: join(prefix, 'include'), lib: join(prefix, 'lib', 'libnng.a') };
}

export async function ensureLibnng(buildDir, { log, fail }) {
  const { prefix, include, lib } = libnngPaths(buildDir);
  const stampPath = join(prefix, 'stamp');
  const stamp = `${TARBALL_SHA256} ${createHash('sha256')
    .update(readFileSync(new URL(import.meta.url)))
    .digest('hex')}`;
  const result = { include, lib, built: false };
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && existsSync(result.lib))
    return result;

  const t0 = performance.now();
  mkdirSync(buildDir, { recursive: true });
  const archive = await tarball(buildDir, fail);
  const work = join(buildDir, `nng-${NNG_VERSION}-work`);
  rmSync(work, { recursive: true, force: true });
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run('tar', ['-xzf', archive, '-C', work], fail);
  const src = join(work, `nng-${NNG_VERSION}`);
  for (const t of TRANSPORTS) {
    const file = join(src, t.file);
    try {
      writeFileSync(file, fixTransport(readFileSync(file, 'utf8'), t));
    } catch (err) {
      fail(err.message);
    }
  }
  const jobs = String(Math.max(1, cpus().length));
  run(
    'cmake',
    [
      '-S',
      src,
      '-B',
      join(work, 'build'),
      '-DCMAKE_BUILD_TYPE=Release',
      '-DBUILD_SHARED_LIBS=OFF',
      '-DCMAKE_POSITION_INDEPENDENT_CODE=ON',
      '-DNNG_ENABLE_TLS=ON',
      '-DNNG_TESTS=OFF',
      '-DNNG_TOOLS=OFF',
      '-DNNG_ENABLE_NNGCAT=OFF',
      `-DCMAKE_INSTALL_PREFIX=${prefix}`,
      '-DCMAKE_INSTALL_LIBDIR=lib',
    ],
    fail,
  );
  run('cmake', ['--build', join(work, 'build'), '--parallel', jobs], fail);
  run('cmake', ['--install', join(work, 'build')], fail);
  writeFileSync(stampPath, stamp);
  rmSync(work, { recursive: true, force: true });
  log(
    `built libnng ${NNG_VERSION} (static, position-independent, with our close fix) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  result.built = true;
  return result;
}
