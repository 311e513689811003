/**
 * Clients of what users pick instead of our unix transport for local RPC, each against its server
 * in its own process (see the servers beside this file). Each gives `request(size)`: one echo
 * round trip of a `size`-byte payload, correlated by an id so that many can be in flight.
 * - node-ipc 14 over a Unix socket (JSON event envelopes): the payload is a string of `size` bytes.
 * - Node's child_process IPC channel to a forked child, `json` serialization (a string of `size`
 *   bytes) and `advanced` (a Uint8Array of `size` bytes, structured clone).
 * - zeromq.js 6, a Dealer talking to a Router over ipc:// (a 4-byte id, then the payload).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPCModule } from 'node-ipc';
import { Dealer } from 'zeromq';
import { pinServer } from '../../placement.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export interface AlternativeClient {
  readonly name: string;
  request(size: number): Promise<void>;
  close(): void;
}

/** Pending round trips by id; each settles when its echo comes back. */
class Pending {
  private next = 0;
  private readonly waiting = new Map<number, () => void>();
  add(): [number, Promise<void>] {
    const id = this.next++ >>> 0;
    return [id, new Promise<void>((resolve) => this.waiting.set(id, resolve))];
  }
  settle(id: number): void {
    const resolve = this.waiting.get(id);
    if (!resolve) throw new Error(`echo for unknown id ${id}`);
    this.waiting.delete(id);
    resolve();
  }
}

const strings = new Map<number, string>();
const text = (size: number) => {
  let s = strings.get(size);
  if (s === undefined) strings.set(size, (s = 'x'.repeat(size)));
  return s;
};

function startServer(script: string, path: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(here, script), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => {
      pinServer(child.pid); // bench/placement.mjs: servers on the servers' CPU
      resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

export async function nodeIpcClient(path: string): Promise<AlternativeClient> {
  const server = await startServer('node-ipc-server.mjs', path);
  const ipc = new IPCModule();
  ipc.config.id = 'bench-client';
  ipc.config.silent = true;
  ipc.config.maxRetries = 0;
  const pending = new Pending();
  const socket = await new Promise<any>((resolve) => {
    ipc.connectTo('bench', path, () => {
      const of = ipc.of.bench;
      of.on('echo', (m: { id: number }) => pending.settle(m.id));
      of.on('connect', () => resolve(of));
    });
  });
  return {
    name: 'node-ipc 14 (Unix socket, JSON)',
    request(size) {
      const [id, done] = pending.add();
      socket.emit('echo', { id, data: text(size) });
      return done;
    },
    close() {
      ipc.disconnect('bench');
      server.kill();
    },
  };
}

export async function forkClient(serialization: 'json' | 'advanced'): Promise<AlternativeClient> {
  const child = fork(join(here, 'fork-child.mjs'), [], { serialization, stdio: 'inherit' });
  await new Promise((resolve) => child.once('spawn', resolve));
  pinServer(child.pid);
  const pending = new Pending();
  child.on('message', (m: any) => pending.settle(m.id));
  const bytes = new Map<number, Uint8Array>();
  const payload =
    serialization === 'json'
      ? text
      : (size: number) => {
          let b = bytes.get(size);
          if (!b) bytes.set(size, (b = new Uint8Array(size).fill(7)));
          return b;
        };
  return {
    name: `child_process IPC, ${serialization} serialization`,
    request(size) {
      const [id, done] = pending.add();
      child.send({ id, data: payload(size) });
      return done;
    },
    close() {
      child.disconnect();
    },
  };
}

export async function zeromqClient(path: string): Promise<AlternativeClient> {
  const server = await startServer('zeromq-router.mjs', path);
  const dealer = new Dealer();
  dealer.connect(`ipc://${path}`);
  const pending = new Pending();
  (async () => {
    for await (const [body] of dealer) pending.settle(body!.readUInt32LE(0));
  })().catch(() => {});
  // zeromq.js allows one send in progress per socket: sends wait their turn here.
  const queue: Buffer[] = [];
  let sending = false;
  const pump = async () => {
    sending = true;
    while (queue.length) await dealer.send(queue.shift()!);
    sending = false;
  };
  const frames = new Map<number, Buffer>();
  return {
    name: 'zeromq.js 6 Dealer/Router (ipc://)',
    request(size) {
      const [id, done] = pending.add();
      let frame = frames.get(size);
      if (!frame) frames.set(size, (frame = Buffer.alloc(4 + size, 7)));
      const msg = Buffer.from(frame);
      msg.writeUInt32LE(id, 0);
      queue.push(msg);
      if (!sending) void pump();
      return done;
    },
    close() {
      dealer.close();
      server.kill();
    },
  };
}
