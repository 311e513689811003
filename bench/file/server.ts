/**
 * The backend process of the file-channel benchmark: echo, a message counter, and `bye`.
 * Arguments: the channel folder, the mode, and `fsync` for a journal that fdatasyncs every batch.
 */
import { FileChannel } from '@openclaw-ipc/file';

const [dir, mode, durability] = process.argv.slice(2) as [string, 'ipckit' | 'journal', string?];
let received = 0;
const server = await FileChannel.backend(dir, {
  mode,
  fsync: durability === 'fsync',
  handlers: { echo: (p: unknown) => p, count: () => received },
});
server.on('n', () => {
  received++;
});
server.on('bye', () => void server.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
