import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A temp dir for socket files, removed by `remove()`. */
export function tempDir(prefix: string): { path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ServerProcess {
  child: ChildProcess;
  /** Kills the process with SIGKILL (no cleanup: its socket file stays) and waits for it. */
  kill(): Promise<void>;
}

/** Starts test/fixtures/server.ts in a second process and waits for its `ready`. */
export async function startServerProcess(path: string, dialect = 'msgpack'): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@openclaw-ipc/source',
      '--import',
      'tsx',
      join(here, 'fixtures', 'server.ts'),
      path,
      dialect,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server process exited with ${code} before ready`)));
  });
  return {
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `predicate` holds, polling every 10 ms (no timing assertion: the test timeout bounds it). */
export async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await sleep(10);
}
