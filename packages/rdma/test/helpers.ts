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

/** The bytes the fixture server's `blob` returns. */
export function patterned(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

export interface ChildServer {
  child: ChildProcess;
  /** What the child printed up to and including `ready`. */
  output: string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Runs a fixture script in a second process and waits for its `ready` line. */
export async function startChild(script: string, args: string[]): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    ['--conditions=@openclaw-ipc/source', '--import', 'tsx', join(here, 'fixtures', script), ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before ready: ${out}`)));
  });
  return {
    child,
    output: out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
