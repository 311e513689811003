// Our two changes to libnng 1.5.2 (Debian's source, the release Debian ships as libnng1), which
// the addon links statically, so no other program sees them.
//
// 1. The close fix. Why not Debian's libnng.so.1: in 1.5.2 a pipe's transport resubmits a partial
//    write or read after the pipe was closed; the stream aio is stopped by then, so that write
//    never completes, the protocol's send aio waits for it forever, and nng's reaper (and with it
//    every later nng_close) hangs. Seen here as nng_close never returning when a REP socket
//    closes with large replies still being written, and in CI under Node 24. The fix: ipc://,
//    tcp:// and tls+tcp:// pipes fail their queued operations with NNG_ECLOSED instead of
//    resubmitting once closed (the tls pipe also gets the `closed` flag the other two already
//    set).
// 2. Completion scopes (completionScopes below): the reads and writes of ipc:// and tcp://
//    connections (tls+tcp:// runs on the latter) complete on the thread that finished them, the
//    poller or a caller in a scope, instead of one nng task-thread wake-up each.
//
// Both are applied by native/deps.mjs, which builds libnng for each target.

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

/** The connections whose reads and writes complete where they finish; the first one holds the rings. */
const CONNS = [
  { file: 'src/platform/posix/posix_ipcconn.c', prefix: 'ipc', home: true },
  { file: 'src/platform/posix/posix_tcpconn.c', prefix: 'tcp', home: false },
];

/**
 * The scopes' public header, installed with nng's own (include/nng/openclaw_scopes.h): the addon,
 * bench/nng/floor.c and the test's C program include it, and its presence tells the addon that
 * the libnng it is built against has scopes.
 */
const SCOPES_HEADER = `/* openclaw-ipc: completion scopes of this libnng (native/nng/libnng.mjs in openclaw-ipc).
 * Reads and writes that nng finishes inside a scope on this thread complete on it when the
 * outermost scope closes, instead of on nng's task threads. Never open one around a wait. */
#ifndef OPENCLAW_NNG_SCOPES_H
#define OPENCLAW_NNG_SCOPES_H
void nni_oc_enter(void);
void nni_oc_leave(void);
#endif
`;

/** What both connection files need: the header, and the ring's entry for a finished read or write. */
const SCOPE_DECLARATIONS = `
/* openclaw-ipc: completion scopes (native/nng/libnng.mjs). */
#include <nng/openclaw_scopes.h>
bool nni_oc_defer(nni_aio *);
`;

const SCOPE_DEFINITIONS = `
#include <pthread.h>
#include <stdlib.h>

#define OC_RING 16
#define OC_BUDGET 256

typedef struct {
	unsigned depth, head, tail, ran;
	nni_aio *ring[OC_RING];
} oc_thread;

static pthread_key_t  oc_key;
static pthread_once_t oc_once = PTHREAD_ONCE_INIT;
static bool           oc_ready;

static void
oc_init(void)
{
	oc_ready = pthread_key_create(&oc_key, free) == 0;
}

static oc_thread *
oc_self(bool create)
{
	oc_thread *t;
	pthread_once(&oc_once, oc_init);
	if (!oc_ready) {
		return (NULL);
	}
	if ((t = pthread_getspecific(oc_key)) == NULL && create &&
	    (t = calloc(1, sizeof(*t))) != NULL &&
	    pthread_setspecific(oc_key, t) != 0) {
		free(t);
		t = NULL;
	}
	return (t);
}

void
nni_oc_enter(void)
{
	oc_thread *t = oc_self(true);
	if (t != NULL) {
		t->depth++;
	}
}

void
nni_oc_leave(void)
{
	oc_thread *t = oc_self(false);
	if (t == NULL || t->depth == 0) {
		return;
	}
	if (t->depth == 1) {
		while (t->head != t->tail) {
			nni_aio *aio = t->ring[t->head++ % OC_RING];
			t->ran++;
			nni_aio_finish_sync(aio, 0, nni_aio_count(aio));
		}
		t->ran = 0;
	}
	t->depth--;
}

bool
nni_oc_defer(nni_aio *aio)
{
	oc_thread *t = oc_self(false);
	if (t == NULL || t->depth == 0 || t->tail - t->head >= OC_RING ||
	    t->ran >= OC_BUDGET) {
		return (false);
	}
	t->ring[t->tail++ % OC_RING] = aio;
	return (true);
}
`;

/**
 * Our second change: a connection's reads and writes complete on the thread that finished
 * them, instead of through nng's task threads. In 1.5.2 every read or write that finishes,
 * whether the poller finished it or a caller's thread did it at once, is handed to a task
 * thread (\`nni_aio_finish\`). A received message takes two such hops (the header's read, then
 * the body's, which the transport starts under its pipe lock) before the protocol sees it, and
 * each write's completion takes one before the pipe may write the next queued message, so
 * messages sent back to back go out one task-thread wake-up apart.
 *
 * Changed: a thread may open a completion scope (\`nni_oc_enter\` / \`nni_oc_leave\`, nested
 * scopes count). Inside one, a read or write this connection finishes is noted in the thread's
 * ring (at most 16) instead; when the outermost scope closes, after every lock taken inside it
 * was released, its completions run in order, synchronously (\`nni_aio_finish_sync\`), and what
 * they start and finish in turn joins the ring, so nothing runs under a lock it may take again
 * and the stack does not grow. At most 256 run per scope; past that, when the ring is full and
 * outside any scope, completions go to the task threads as before. The poller opens a scope
 * around each connection callback; the addon opens one around its calls into nng on the JS
 * thread. An aio waiting in a ring is out of its connection's queue, so cancelling it finds
 * nothing to do and it completes normally; its task stays busy from \`nni_aio_begin\` on, so
 * \`nni_aio_stop\` waits for it. Per-thread state is a POSIX thread key, not \`__thread\`, which
 * would make the addon need the dynamic loader's TLS entry point.
 */
export function completionScopes(text, { file, prefix: p, home }) {
  let out = text;
  const dowrite = `static void\n${p}_dowrite(`;
  if (!out.includes(dowrite)) throw new Error(`${file}: ${p}_dowrite not found`);
  const done = [
    'static void',
    `${p}_done(nni_aio *aio)`,
    '{',
    '\tif (!nni_oc_defer(aio)) {',
    '\t\tnni_aio_finish(aio, 0, nni_aio_count(aio));',
    '\t}',
    '}',
    '',
  ].join('\n');
  const finish = '\t\tnni_aio_finish(aio, 0, nni_aio_count(aio));\n';
  const count = out.split(finish).length - 1;
  if (count !== 2) throw new Error(`${file}: expected 2 completions of a read or write, found ${count}`);
  out = out.split(finish).join(`\t\t${p}_done(aio);\n`);
  out = out.replace(dowrite, `${SCOPE_DECLARATIONS}${home ? SCOPE_DEFINITIONS : ''}\n${done}\n${dowrite}`);
  const head = `static void\n${p}_cb(nni_posix_pfd *pfd, unsigned events, void *arg)\n{`;
  const start = out.indexOf(head);
  if (start < 0) throw new Error(`${file}: ${p}_cb not found`);
  const end = out.indexOf('\n}\n', start) + 3;
  const wrapper = [
    '',
    'static void',
    `${p}_cb(nni_posix_pfd *pfd, unsigned events, void *arg)`,
    '{',
    '\tnni_oc_enter();',
    `\t${p}_cb_events(pfd, events, arg);`,
    '\tnni_oc_leave();',
    '}',
    '',
  ].join('\n');
  return (
    out.slice(0, start) +
    out.slice(start, end).replace(`${p}_cb(`, `${p}_cb_events(`) +
    wrapper +
    out.slice(end)
  );
}

/** Applies both changes to an unpacked nng source tree (native/deps.mjs). */
export function fixNngSources(src) {
  for (const t of TRANSPORTS) {
    const file = join(src, t.file);
    writeFileSync(file, fixTransport(readFileSync(file, 'utf8'), t));
  }
  for (const c of CONNS) {
    const file = join(src, c.file);
    writeFileSync(file, completionScopes(readFileSync(file, 'utf8'), c));
  }
  writeFileSync(join(src, 'include', 'nng', 'openclaw_scopes.h'), SCOPES_HEADER);
}
