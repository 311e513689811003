// bench/codec.mjs: the core's MessagePack codec (msgpackr in standard mode) against
// @msgpack/msgpack, encode + decode of our IpcMessages (a request and its response) with small
// and 4 KiB params. Both measured in this run; prints a table with ratios.
// Run: node bench/codec.mjs [--quick]
import { randomUUID } from 'node:crypto';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { msgpackCodec } from '@openclaw-ipc/core';
import { chart } from './chart.mjs';

const quick = process.argv.includes('--quick');
const seconds = quick ? 0.3 : 1.5;

const encoder = new Encoder({ ignoreUndefined: false });
const decoder = new Decoder();

const codecs = {
  // The codec the core ships (msgpackr in standard mode), not a copy of its configuration.
  msgpackr: msgpackCodec,
  '@msgpack/msgpack': { encode: (v) => encoder.encode(v), decode: (b) => decoder.decode(b) },
};

const request = (params) => ({ id: randomUUID(), payload: { type: 'request', method: 'echo', params } });
const response = (result) => ({
  id: randomUUID(),
  payload: { type: 'response', success: true, result, error: null },
});
const small = { user: 'ada', n: 42, tags: ['a', 'b'], ok: true };
const text4k = { text: 'x'.repeat(4096) };
const bin4k = { data: new Uint8Array(4096).fill(7) };
const list4k = { items: Array.from({ length: 128 }, (_, i) => ({ id: i, name: `item-${i}`, v: i * 1.5 })) };

const cases = [
  ['small params (request + response)', [request(small), response(small)]],
  ['4 KiB string params', [request(text4k), response(text4k)]],
  ['4 KiB binary params', [request(bin4k), response(bin4k)]],
  ['~4 KiB list of objects', [request(list4k), response(list4k)]],
];

/** Encode+decode round trips per second of `messages` with `codec`. */
function measure(codec, messages) {
  const run = (ms) => {
    const end = performance.now() + ms;
    const start = performance.now();
    let count = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) {
        for (const m of messages) codec.decode(codec.encode(m));
        count++;
      }
    }
    return count / ((performance.now() - start) / 1000);
  };
  run(seconds * 300); // warm-up
  return run(seconds * 1000);
}

// Both must agree on the bytes' meaning (a sanity check, not a benchmark).
for (const [, messages] of cases) {
  for (const m of messages) {
    const a = codecs['@msgpack/msgpack'].decode(codecs.msgpackr.encode(m));
    const b = codecs.msgpackr.decode(codecs['@msgpack/msgpack'].encode(m));
    const plain = (v) =>
      JSON.stringify(v, (_, x) => (x instanceof Uint8Array ? [...x] : x?.type === 'Buffer' ? x.data : x));
    if (plain(a) !== plain(b)) throw new Error('codecs disagree');
  }
}

const rows = [];
const ratios = [];
for (const [name, messages] of cases) {
  // Interleaved, best of two.
  const r = [];
  const m = [];
  for (let i = 0; i < 2; i++) {
    r.push(measure(codecs.msgpackr, messages));
    m.push(measure(codecs['@msgpack/msgpack'], messages));
  }
  const a = Math.max(...r);
  const b = Math.max(...m);
  const size = codecs.msgpackr.encode(messages[0]).byteLength;
  ratios.push(a / b);
  rows.push([
    name,
    `${size} B`,
    `${(a / 1000).toFixed(1)} k/s (${(1e6 / a).toFixed(2)} µs)`,
    `${(b / 1000).toFixed(1)} k/s (${(1e6 / b).toFixed(2)} µs)`,
    `${(a / b).toFixed(2)}x`,
  ]);
}
console.log(
  `bench/codec — Node ${process.version}; one op = encode+decode of a request and its response; best of 2\n`,
);
const header = ['messages', 'request size', 'msgpackr', '@msgpack/msgpack', 'msgpackr / @msgpack'];
console.log([header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n'));
console.log(
  `\n${chart({
    title: 'msgpackr / @msgpack/msgpack, encode+decode ops per second (higher is better)',
    labels: cases.map(([name]) => name),
    values: ratios,
    unit: 'x @msgpack/msgpack',
    line: 1,
    lineLabel: '@msgpack/msgpack',
  })}`,
);
