// One client process of bench/nng/ab.ts: our ReqSocket (or RPC client) against a server that is
// already listening. Prints one JSON line: µs per sequential round trip, round trips per second
// with 64 in flight, and this process's CPU µs per round trip in each case.
//   client.ts <nng|rpc> <url> <seqN> <flightN>
import { connectNng, ReqSocket } from '@openclaw-ipc/nng';

const [kind, url, seqArg, flightArg] = process.argv.slice(2) as [string, string, string, string];
const SEQ_N = Number(seqArg);
const FLIGHT_N = Number(flightArg);
const INFLIGHT = 64;

async function measure(once: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(1000, SEQ_N / 10); i++) await once();
  let c0 = process.cpuUsage();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < SEQ_N; i++) await once();
  const seqUs = Number(process.hrtime.bigint() - t0) / 1e3 / SEQ_N;
  let c = process.cpuUsage(c0);
  const seqCpu = (c.user + c.system) / SEQ_N;
  let left = Math.min(5000, FLIGHT_N / 10);
  const lane = async () => {
    while (left-- > 0) await once();
  };
  await Promise.all(Array.from({ length: INFLIGHT }, lane));
  left = FLIGHT_N;
  c0 = process.cpuUsage();
  t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: INFLIGHT }, lane));
  const flight = FLIGHT_N / (Number(process.hrtime.bigint() - t0) / 1e9);
  c = process.cpuUsage(c0);
  return { seqUs, seqCpu, flight, flightCpu: (c.user + c.system) / FLIGHT_N };
}

async function main(): Promise<void> {
  let result: object;
  if (kind === 'nng') {
    const req = new ReqSocket();
    await req.dial(url);
    const b64 = Buffer.alloc(64, 'x');
    result = await measure(() => req.request(b64));
    req.close();
  } else {
    const client = await connectNng(url, { timeout: 0 });
    const p64 = { s: 'x'.repeat(12) };
    result = await measure(() => client.request('echo', p64));
    client.close();
  }
  console.log(JSON.stringify(result));
}

void main();
