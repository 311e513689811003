/**
 * The other process of the two-process tests.
 *   serve <dir> <mode>                         a backend answering echo/slow; prints "ready"
 *   call <dir> <mode> <n>                      a frontend making n echo requests; prints results
 *   lock <target> <holdMs>                     takes the journal writer lock of <target> (short
 *                                              timeout); prints "won" or "lost", holds it <holdMs>,
 *                                              then "held <from> <until>"; "took-over" when it
 *                                              removed a stale lock
 *   open <dir>                                 opens a backend; prints "ok" or the error code
 *   write <dir> <name> <count> <run> <every>   a journal writer (frontend end named <name>):
 *                                              sends <count> messages, prints "ack <seq>" after
 *                                              each flush of <every> messages, then "done"
 */
import { IpcError } from '@openclaw-ipc/core';
import { acquireJournalLock, FileChannel, JournalLink } from '../src/index.js';

const [command, dir, a, b, c, d] = process.argv.slice(2) as [string, string, string, string, string, string];
const out = (line: unknown) =>
  process.stdout.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);

if (command === 'serve') {
  const server = await FileChannel.backend(dir, {
    mode: a as 'ipckit' | 'journal',
    handlers: { echo: (p: unknown) => p, pid: () => process.pid },
  });
  server.on('bye', () => void server.close().then(() => process.exit(0)));
  out('ready');
} else if (command === 'call') {
  const client = await FileChannel.frontend(dir, {
    mode: a as 'ipckit' | 'journal',
    client: { reconnect: false },
  });
  const n = Number(b);
  const results = await Promise.all(Array.from({ length: n }, (_, i) => client.request('echo', { i })));
  out({ results, pid: await client.request('pid') });
  await client.notify('from-child', { n });
  client.close();
} else if (command === 'write') {
  const name = a;
  const count = Number(b);
  const run = Number(c);
  const every = Number(d);
  const link = await JournalLink.open(dir, 'frontend', {
    name,
    onError: (e) => process.stderr.write(`${e.code} ${e.message}\n`),
  });
  link.attach({ onFrame: () => {}, onClose: () => {} });
  out('open');
  for (let seq = 0; seq < count; seq++) {
    const sent = link.send(JSON.stringify({ w: name, run, seq }));
    if (sent) await sent;
    if ((seq + 1) % every === 0 || seq === count - 1) {
      await link.flush();
      out(`ack ${seq}`);
    }
  }
  out('done');
  link.close();
  await link.flush().catch(() => {});
}

if (command === 'lock') {
  try {
    const lock = await acquireJournalLock(dir, {
      acquireTimeout: Number(b ?? 800),
      staleAfter: 60_000,
      // This process removed the stale lock (another may still win the fresh one after).
      onStale: () => out('took-over'),
    });
    const from = Date.now();
    out('won');
    await new Promise((r) => setTimeout(r, Number(a)));
    // Held from `from` to now (wall clock, shared by the processes of this machine).
    const until = Date.now();
    await lock.release();
    out(`held ${from} ${until}`);
  } catch (err) {
    out(IpcError.is(err, 'TIMEOUT') ? 'lost' : `error ${String(err)}`);
  }
} else if (command === 'open') {
  try {
    const server = await FileChannel.backend(dir, { mode: (a as 'ipckit' | 'journal') ?? 'ipckit' });
    out('ok');
    await server.close();
  } catch (err) {
    out(IpcError.is(err) ? `${err.code} ${err.message}` : `crash ${String(err)}`);
  }
}
