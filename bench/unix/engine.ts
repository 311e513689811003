/**
 * bench/unix/engine.ts: the RPC engine's own CPU cost per round trip, client and server in this
 * process over an in-memory link (no sockets, no second process), and the msgpack dialect's
 * encode/decode of the four messages of a round trip. A profiling aid for bench/unix, not a
 * comparison: it prints µs of CPU per operation.
 *
 * Run: node --import tsx bench/unix/engine.ts [--quick]
 *   [--cpu-prof for a profile: node --cpu-prof --conditions=... bench/unix/engine.ts]
 */
import {
  type Frame,
  type IpcError,
  type Link,
  type LinkHandler,
  msgpackDialect,
  RpcClient,
  RpcServer,
  request,
  success,
} from '@openclaw-ipc/core';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 30_000 : 100_000;

/** One end of an in-memory link: frames reach the peer in a microtask, in order. */
class PipeEnd implements Link {
  readonly transport = 'memory';
  peer!: PipeEnd;
  private handler: LinkHandler | undefined;
  private inbox: Frame[] = [];
  private scheduled = false;
  attach(handler: LinkHandler): void {
    this.handler = handler;
  }
  send(frame: Frame): void {
    const peer = this.peer;
    peer.inbox.push(frame);
    if (!peer.scheduled) {
      peer.scheduled = true;
      queueMicrotask(peer.drain);
    }
  }
  close(error?: IpcError): void {
    this.handler?.onClose(error);
  }
  private readonly drain = (): void => {
    this.scheduled = false;
    const frames = this.inbox;
    this.inbox = [];
    for (const f of frames) this.handler!.onFrame(f);
  };
}

function pair(): [PipeEnd, PipeEnd] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

const cpuNow = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

async function engine(payload: unknown, inFlight: number): Promise<number> {
  const server = new RpcServer({ dialect: msgpackDialect }).handle('echo', (p: unknown) => p);
  const [c, s] = pair();
  server.attach(s);
  const client = await RpcClient.connect({ dialect: msgpackDialect, link: async () => c, reconnect: false });
  const run = async (n: number) => {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await client.request('echo', payload);
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
  await run(ROUNDS / 10);
  const t = cpuNow();
  await run(ROUNDS);
  const us = (cpuNow() - t) / ROUNDS;
  client.close();
  await server.close();
  return us;
}

function codec(payload: unknown): Record<string, number> {
  const req = request('echo', payload);
  const res = success(req.id, payload);
  const reqFrame = msgpackDialect.encode(req);
  const resFrame = msgpackDialect.encode(res);
  const ops: Record<string, () => unknown> = {
    'encode request': () => msgpackDialect.encode(request('echo', payload)),
    'decode request': () => msgpackDialect.decode(reqFrame),
    'encode response': () => msgpackDialect.encode(success(req.id, payload)),
    'decode response': () => msgpackDialect.decode(resFrame),
  };
  const out: Record<string, number> = {};
  for (const [name, op] of Object.entries(ops)) {
    for (let i = 0; i < ROUNDS / 10; i++) op();
    const t = cpuNow();
    for (let i = 0; i < ROUNDS; i++) op();
    out[name] = (cpuNow() - t) / ROUNDS;
  }
  return out;
}

const payloads: Array<[string, unknown]> = [
  ['64 B bin', new Uint8Array(64).fill(7)],
  ['4 KiB bin', new Uint8Array(4096).fill(7)],
  ['small object', { user: 'ada', n: 42, tags: ['a', 'b'], ok: true }],
];
console.log(`engine over an in-memory link, ${ROUNDS} round trips; CPU µs per operation`);
for (const [name, payload] of payloads) {
  const seq = await engine(payload, 1);
  const pipe = await engine(payload, 64);
  const c = codec(payload);
  const parts = Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
  console.log(`${name}: round trip sequential ${seq.toFixed(2)}, 64 in flight ${pipe.toFixed(2)}; ${parts}`);
}
