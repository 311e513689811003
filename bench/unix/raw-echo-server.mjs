// The baseline server: node:net, u32 LE length-prefixed frames echoed back as they are.
// `node raw-echo-server.mjs <socket-path>`; prints `ready`.
import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';

const path = process.argv[2];
try {
  unlinkSync(path);
} catch {}
createServer((socket) => {
  let pending = [];
  let buffered = 0;
  socket.on('data', (chunk) => {
    pending.push(chunk);
    buffered += chunk.length;
    let data = pending.length === 1 ? pending[0] : Buffer.concat(pending, buffered);
    let offset = 0;
    while (data.length - offset >= 4) {
      const size = data.readUInt32LE(offset);
      if (data.length - offset - 4 < size) break;
      offset += 4 + size;
    }
    if (offset > 0) socket.write(data.subarray(0, offset));
    data = data.subarray(offset);
    pending = data.length ? [data] : [];
    buffered = data.length;
  });
  socket.on('error', () => {});
}).listen(path, () => process.stdout.write('ready\n'));
