/** A server process of test/fixtures/observed-server.ts, for the two-process tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgs } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface ObservedServer {
  child: ChildProcess;
  /** The address it listens on (the real port for ws://…:0). */
  address: string;
  kill(): Promise<void>;
}

const running = new Set<ObservedServer>();

/** Starts observed-server.ts on `url`; resolves once it listens. */
export function startObservedServer(url: string): Promise<ObservedServer> {
  const child = spawn(process.execPath, [...nodeArgs, join(here, 'fixtures', 'observed-server.ts'), url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const match = /listening on (\S+)/.exec(out);
      if (!match) return;
      const server: ObservedServer = {
        child,
        address: match[1]!,
        async kill() {
          running.delete(server);
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
      running.add(server);
      resolve(server);
    });
    child.once('exit', (code) => reject(new Error(`server on ${url} exited with ${code} before listening`)));
  });
}

/** Kills every server still running (afterAll). */
export async function killAll(): Promise<void> {
  for (const s of [...running]) await s.kill();
}
