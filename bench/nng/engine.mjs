// The JS cost per request of the RPC layers alone, on one thread, without nng or a kernel in
// between: the client's engine and dialect over a channel that answers at once, and the server's
// engine and dialect called as the REP listener calls it. CPU µs per request, median of 5 runs.
//   node bench/nng/engine.mjs [root] [text|bytes]
// `root` is a checkout whose packages are built (default: this one), so that two commits can be
// compared on a loaded machine, where the two-process figures move too much to show such a change;
// `bytes` hands the frames over as Buffers made from ArrayBuffers (what the addon did before
// text frames), `text` as strings (what it does now for text dialects).
// A second line runs client and server together, one request at a time, the client's channel
// calling the server's handler: the time from request() to its result, back to back (hot) and
// each after the thread slept 50 µs and 200 µs in a futex wait (as a process sleeps between
// sequential requests), against an empty await measured the same way.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.argv[2] ?? join(here, '..', '..'));
const text = (process.argv[3] ?? 'text') === 'text';
const { RpcClient, RpcServer, openclawJson } = await import(join(root, 'packages/core/dist/index.js'));
const N = 100_000;
const encoder = new TextEncoder();
const asFrame = (s) => (text ? s : Buffer.from(encoder.encode(s).buffer));

const channel = {
  transport: 'fake',
  request(frame) {
    const s = typeof frame === 'string' ? frame : Buffer.from(frame).toString();
    const id = s.slice(7, s.indexOf('"', 7));
    return Promise.resolve(
      asFrame(
        `{"id":"${id}","payload":{"type":"response","success":true,"result":{"s":"xxxxxxxxxxxx"},"error":null}}`,
      ),
    );
  },
  onClose() {},
  close() {},
};
const client = await RpcClient.connect({ channel: async () => channel, dialect: openclawJson, timeout: 0 });
const params = { s: 'x'.repeat(12) };
const lane = async (n) => {
  for (let i = 0; i < n; i++) await client.request('echo', params);
};
let handler;
const server = new RpcServer({ handlers: { echo: (x) => x }, dialect: openclawJson });
server.serve({
  onRequest(h) {
    handler = h;
  },
  close: async () => {},
  address: 'fake',
});
const request =
  '{"id":"0b1f7a52-6c3e-4d7a-9a43-1f2e3d4c5b6a","payload":{"type":"request","method":"echo","params":{"s":"xxxxxxxxxxxx"}}}';
const runs = { client: [], server: [] };
for (let r = 0; r < 7; r++) {
  let c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, () => lane(N / 64)));
  let c = process.cpuUsage(c0);
  runs.client.push((c.user + c.system) / N);
  c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) handler(asFrame(request), () => {});
  c = process.cpuUsage(c0);
  runs.server.push((c.user + c.system) / N);
}
// The first two runs warm the JIT up.
const median = (xs) =>
  xs
    .slice(2)
    .sort((a, b) => a - b)[2]
    .toFixed(2);
console.log(
  `${root} (${text ? 'text' : 'bytes'} frames): client ${median(runs.client)} µs, server ${median(runs.server)} µs of CPU per request`,
);

// Both sides in turn, one request at a time, hot and after a sleep.
const direct = await RpcClient.connect({
  channel: async () => ({
    transport: 'fake',
    request: (frame) => new Promise((resolve) => handler(frame, resolve)),
    onClose() {},
    close() {},
  }),
  dialect: openclawJson,
  timeout: 0,
});
const futex = new Int32Array(new SharedArrayBuffer(4));
/** Mean µs from the start of `once()` to its end, over n calls, each after `sleepUs` asleep. */
async function timed(n, sleepUs, once) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (sleepUs > 0) Atomics.wait(futex, 0, 0, sleepUs / 1000);
    const t = performance.now();
    await once();
    total += performance.now() - t;
  }
  return (total * 1000) / n;
}
const rpcOnce = () => direct.request('echo', params);
const emptyOnce = () => Promise.resolve(params);
const cold = { rpc: [[], [], []], empty: [[], [], []] };
await timed(N / 5, 0, rpcOnce);
for (let r = 0; r < 5; r++) {
  for (const [i, sleepUs] of [0, 50, 200].entries()) {
    const n = sleepUs === 0 ? N / 5 : 5000;
    cold.rpc[i].push(await timed(n, sleepUs, rpcOnce));
    cold.empty[i].push(await timed(n, sleepUs, emptyOnce));
  }
}
const mid = (xs) => xs.sort((a, b) => a - b)[2].toFixed(2);
console.log(
  `one at a time, client and server, µs per request (median of 5): hot ${mid(cold.rpc[0])}, ` +
    `after 50 µs asleep ${mid(cold.rpc[1])}, after 200 µs ${mid(cold.rpc[2])}; ` +
    `an empty await ${mid(cold.empty[0])}, ${mid(cold.empty[1])}, ${mid(cold.empty[2])}`,
);
direct.close();
client.close();
process.exit(0);
