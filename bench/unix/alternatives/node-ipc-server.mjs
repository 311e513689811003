// node-ipc (npm node-ipc 14) serving an `echo` event on a Unix socket, its default `fast` parser
// (JSON event envelopes, delimiter framing): each message is sent back to its sender as it came.
// `node node-ipc-server.mjs <socket-path>`; prints `ready`.
import { IPCModule } from 'node-ipc';

const path = process.argv[2];
const ipc = new IPCModule();
ipc.config.id = 'bench';
ipc.config.silent = true;
ipc.serve(path, () => {
  ipc.server.on('echo', (data, socket) => ipc.server.emit(socket, 'echo', data));
  process.stdout.write('ready\n');
});
ipc.server.start();
