// Events two ways: a handler for every event of a name, and an async iterator with a bounded queue;
// topics reach only the clients that subscribed.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen } from 'openclaw-ipc';

const url = `unix://${join(tmpdir(), `events-${process.pid}.sock`)}`;
const server = await listen(url);
server.handle('start', () => {
  for (let n = 1; n <= 3; n++) server.emit('tick', { n });
  server.publish('news', { headline: 'subscribers only' });
  return 'started';
});

const client = await connect(url);
await client.subscribe('news');
client.on('news', (data) => console.log('news:', data));

const ticks = client.events('tick', { limit: 100 });
await client.request('start');
let seen = 0;
for await (const tick of ticks) {
  console.log('tick:', tick);
  if (++seen === 3) break; // ends the iterator and unsubscribes its listener
}

client.close();
await server.close();
