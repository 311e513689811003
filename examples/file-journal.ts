/**
 * Journal mode: a lossless channel. Two named frontends send a burst of events each; the backend
 * receives every one, in order per sender. Its cursor is saved, so a restarted backend resumes
 * where it stopped.
 *
 *   node --conditions=@openclaw-ipc/source --import tsx examples/file-journal.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileChannel } from '@openclaw-ipc/file';

const base = mkdtempSync(join(tmpdir(), 'file-journal-'));
const dir = join(base, 'channel');
const N = 5000;

const backend = await FileChannel.backend(dir, { mode: 'journal', handlers: { ping: () => 'pong' } });
const counts = new Map<string, number>();
backend.on('sample', (data) => {
  const { from } = data as { from: string };
  counts.set(from, (counts.get(from) ?? 0) + 1);
});

// Two frontends in one directory: each needs its own name (its writer journal and cursor).
const a = await FileChannel.frontend(dir, { mode: 'journal', name: 'sensor-a' });
const b = await FileChannel.frontend(dir, { mode: 'journal', name: 'sensor-b' });
console.log('ping ->', await a.request('ping'));
const started = performance.now();
await Promise.all(
  [a, b].map(async (client, k) => {
    for (let i = 0; i < N; i++) await client.notify('sample', { from: k === 0 ? 'a' : 'b', i });
  }),
);
while ((counts.get('a') ?? 0) + (counts.get('b') ?? 0) < 2 * N) await new Promise((r) => setTimeout(r, 5));
const ms = performance.now() - started;
console.log(
  `received ${2 * N} of ${2 * N} events in ${ms.toFixed(0)} ms (${((2 * N) / (ms / 1000)).toFixed(0)} msg/s)`,
);

a.close();
b.close();
await backend.close();
rmSync(base, { recursive: true, force: true });
