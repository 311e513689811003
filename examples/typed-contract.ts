// One contract, typed on both sides, validated at runtime with zod (any Standard Schema library works).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, defineContract, eventDef, listen, method, RemoteError } from 'openclaw-ipc';
import { z } from 'zod';

const contract = defineContract({
  methods: {
    greet: method({ params: z.object({ name: z.string().min(1) }), result: z.string() }),
    add: method<{ a: number; b: number }, number>({ idempotent: true }),
  },
  events: { greeted: eventDef(z.object({ name: z.string() })) },
});

const url = `unix://${join(tmpdir(), `contract-${process.pid}.sock`)}`;
// Handlers, events and requests are all typed by the contract: an unknown method or event, wrong
// params or data, or a wrong result type does not compile.
const server = await listen(url, { contract, handlers: { add: ({ a, b }) => a + b } });
server.handle('greet', ({ name }) => {
  server.emit('greeted', { name });
  return `hello, ${name}`;
});

const client = await connect(url, { contract });
client.on('greeted', ({ name }) => console.log(`event: greeted ${name}`));
const text: string = await client.request('greet', { name: 'Ada' });
console.log(text);
console.log(await client.request('add', { a: 40, b: 2 }));

// Params that break the contract are refused by the server before the handler runs.
const err = await client.request('greet', { name: '' }).catch((e: unknown) => e);
if (err instanceof RemoteError) console.log(`refused: ${err.remoteCode}`);

client.close();
await server.close();
