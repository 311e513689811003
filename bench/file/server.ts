/** The backend process of the file-channel benchmark: echo, a message counter, and `bye`. */
import { FileChannel } from '@openclaw-ipc/file';

const [dir, mode] = process.argv.slice(2) as [string, 'ipckit' | 'journal'];
let received = 0;
const server = await FileChannel.backend(dir, {
  mode,
  handlers: { echo: (p: unknown) => p, count: () => received },
});
server.on('n', () => {
  received++;
});
server.on('bye', () => void server.close().then(() => process.exit(0)));
process.stdout.write('ready\n');
