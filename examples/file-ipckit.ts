/**
 * A backend and a frontend talking through an ipckit-compatible channel directory: requests,
 * an error, and an event. Any ipckit peer (Rust or `pip install ipckit`) can take either side.
 *
 *   node --conditions=@openclaw-ipc/source --import tsx examples/file-ipckit.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileChannel } from '@openclaw-ipc/file';

const base = mkdtempSync(join(tmpdir(), 'file-ipckit-'));
const dir = join(base, 'channel');

const backend = await FileChannel.backend(dir, {
  handlers: {
    add: ({ a, b }: { a: number; b: number }) => a + b,
    fail: () => {
      throw new Error('this one fails');
    },
  },
});
const frontend = await FileChannel.frontend(dir);

const progress = new Promise<void>((resolve) =>
  frontend.on('progress', (data) => {
    console.log('event:', data);
    resolve();
  }),
);
console.log('add ->', await frontend.request('add', { a: 2, b: 3 }));
await frontend.request('fail').catch((err) => console.log('fail ->', err.code, err.message));
backend.emit('progress', { done: 1, of: 1 });
await progress;

frontend.close();
await backend.close();
rmSync(base, { recursive: true, force: true });
