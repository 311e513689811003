/**
 * Child processes of bench/scale: the servers (server.ts) and the connection holders
 * (conn-clients.ts), each spoken to by lines on its stdin and stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pinServer } from '../placement.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Largest message of the payload sweep (64 MiB) with room for the envelope. */
export const MAX_MESSAGE = 80 * 1024 * 1024;
/** Connections a server accepts (the connection case opens 10,000 and some). */
export const MAX_CONNECTIONS = 20_000;

/** Memory of a server process after a full GC, in bytes. */
export interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/** A child process answering one line per command. */
export class LineProcess {
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string) => void> = [];
  private readonly queued: string[] = [];
  private exited = false;

  constructor(readonly child: ChildProcess) {
    this.lines = createInterface({ input: child.stdout! });
    this.lines.on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.queued.push(line);
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w(`exit ${code ?? signal}`);
    });
  }

  /** The next line the process prints. */
  next(): Promise<string> {
    const line = this.queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.reject(new Error('process exited'));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends a command line and waits for its answer. */
  ask(cmd: string): Promise<string> {
    this.child.stdin!.write(`${cmd}\n`);
    return this.next();
  }

  /** Ends stdin (the process exits by itself) and kills it if it is still there after a while. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

function spawnLines(args: string[]): LineProcess {
  // This program's own flags: the built packages, or the sources (bench/run.mjs --source).
  const child = spawn(process.execPath, [...process.execArgv, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new LineProcess(child);
}

/** A bench/scale server (server.ts) and its first line (a port, or `ready`). */
export async function startServer(
  system: string,
  address = '',
): Promise<{ proc: LineProcess; first: string }> {
  const proc = spawnLines(['--expose-gc', join(here, 'server.ts'), system, address]);
  const first = await proc.next();
  if (first.startsWith('exit')) throw new Error(`server ${system} failed to start (${first})`);
  pinServer(proc.child.pid); // bench/placement.mjs: servers on the servers' CPU
  return { proc, first };
}

export async function memoryOf(server: LineProcess): Promise<Memory> {
  return JSON.parse(await server.ask('mem')) as Memory;
}

/** A process holding `connections` connections (conn-clients.ts), once they are all open. */
export async function startHolders(
  kind: 'ws' | 'unix' | 'unix-raw',
  target: string,
  connections: number,
  senders: number,
  requests: number,
): Promise<LineProcess> {
  const proc = spawnLines([
    join(here, 'conn-clients.ts'),
    kind,
    target,
    String(connections),
    String(senders),
    String(requests),
  ]);
  const line = await proc.next();
  if (line !== 'open') throw new Error(`connection holder failed (${line})`);
  return proc;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The q-quantile (0..1) of samples. */
export const quantile = (xs: ArrayLike<number>, q: number): number => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? Number.NaN;
};

/**
 * Reads u32 LE length-prefixed frames from `socket` for the raw echoes: each read that completes
 * frames calls `onFrames(data, end, count)`, `data.subarray(0, end)` being the `count` whole
 * frames; bytes of an unfinished frame wait (unconcatenated) until all of it is there.
 */
export function onWholeFrames(
  socket: Socket,
  onFrames: (data: Buffer, end: number, count: number) => void,
): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  let need = 4;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    if (buffered < need) return;
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
    let offset = 0;
    let count = 0;
    need = 4;
    while (data.length - offset >= 4) {
      const size = data.readUInt32LE(offset);
      if (data.length - offset - 4 < size) {
        need = 4 + size;
        break;
      }
      offset += 4 + size;
      count++;
    }
    if (count > 0) onFrames(data, offset, count);
    const rest = data.subarray(offset);
    chunks = rest.length ? [rest] : [];
    buffered = rest.length;
  });
}
