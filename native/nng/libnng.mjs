// Our fix to libnng 1.5.2 (Debian's source, the release Debian ships as libnng1), which the
// addon links statically. Why not Debian's libnng.so.1: in 1.5.2 a pipe's transport resubmits a partial
// write or read after the pipe was closed; the stream aio is stopped by then, so that write
// never completes, the protocol's send aio waits for it forever, and nng's reaper (and with it
// every later nng_close) hangs. Seen here as nng_close never returning when a REP socket closes
// with large replies still being written, and in CI under Node 24. The fix: ipc://, tcp:// and
// tls+tcp:// pipes fail their queued operations with NNG_ECLOSED instead of resubmitting once
// closed (the tls pipe also gets the `closed` flag the other two already set).
//
// The fix is applied by native/deps.mjs, which builds libnng for each target.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** Applies the fix to every transport of an unpacked nng source tree (native/deps.mjs). */
export function fixNngSources(src) {
  for (const t of TRANSPORTS) {
    const file = join(src, t.file);
    writeFileSync(file, fixTransport(readFileSync(file, 'utf8'), t));
  }
}
