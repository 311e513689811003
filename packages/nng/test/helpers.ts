import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..', '..');

let dir: string | undefined;
let counter = 0;
/** A fresh address of the given nng transport, unique within this test run. */
export function address(kind: 'ipc' | 'tcp' | 'ws' | 'inproc'): string {
  counter++;
  switch (kind) {
    case 'ipc':
      dir ??= mkdtempSync(join(tmpdir(), 'nng-test-'));
      return `ipc://${join(dir, `s${counter}.ipc`)}`;
    case 'tcp':
      return `tcp://127.0.0.1:${freePortBase() + counter}`;
    case 'ws':
      return `ws://127.0.0.1:${freePortBase() + counter}/rpc`;
    case 'inproc':
      return `inproc://test-${process.pid}-${counter}`;
  }
}

let base: number | undefined;
// Vitest runs files in parallel workers: spread their ports by pid. Kept in 20000-32699, below
// Linux's ephemeral range (32768 and up), where the connections of every other test running at
// the same time take their local ports: a port there was once found taken (EADDRINUSE).
const freePortBase = () => (base ??= 20_000 + ((process.pid * 97) % 12_000));

export function cleanupAddresses(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process running test/fixtures/peer.ts with tsx, resolving workspace sources. */
export interface Peer {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `pattern`. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function spawnPeer(...args: string[]): Peer {
  return spawnFixture('peer.ts', ...args);
}

/** A child process running test/fixtures/<file> with tsx, resolving workspace sources. */
export function spawnFixture(file: string, ...args: string[]): Peer {
  const child = spawn(
    process.execPath,
    ['--conditions=@openclaw-ipc/source', '--import', 'tsx', join(here, 'fixtures', file), ...args],
    { cwd: join(here, '..'), stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return wrapChild(child);
}

export function wrapChild(child: ChildProcess): Peer {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
      nl = buf.indexOf('\n');
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitFor(pattern, ms = 15_000) {
      const found = lines.find((l) => pattern.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${pattern}; got ${lines.join('|')}`)),
          ms,
        );
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
