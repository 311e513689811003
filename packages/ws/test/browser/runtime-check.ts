// Run by Deno and Bun (browser-runtimes.test.ts) from a bundle of the browser build: the client
// against our Node ws server at the URL given, and a WebCrypto device proof. Prints one JSON line.
// The browser entry by path (the package name would type-check against the Node build).
import { connectWsClient, WebDeviceIdentity } from '../../src/browser.js';

declare const Deno: { args: string[] } | undefined;
declare const process: { argv: string[] };

const url = typeof Deno !== 'undefined' ? Deno.args[0]! : process.argv[2]!;
const client = await connectWsClient(url, { reconnect: false });
const events: unknown[] = [];
client.on('news', (d) => events.push(d));
await client.subscribe('news');
const echo = await client.request('echo', { runtime: 'check', text: 'héllo' });
const burst = await Promise.all([1, 2, 3].map((n) => client.request('echo', n)));
await client.request('publish', {});
const ac = new AbortController();
const pending = client.request('hang', {}, { signal: ac.signal });
ac.abort();
const aborted = await pending.then(
  () => 'resolved',
  (e: { code: string }) => e.code,
);
client.close();
const device = await WebDeviceIdentity.generate();
const proof = await device.prove({
  clientId: 'cli',
  clientMode: 'cli',
  role: 'operator',
  scopes: ['operator.read'],
  signedAtMs: 1,
  nonce: 'n',
});
console.log(
  JSON.stringify({ echo, burst, events, aborted, signature: proof.signature.length, id: device.id.length }),
);
