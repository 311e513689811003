/**
 * What a test file of the installed-package tests uses: the consumer project made by the global
 * setup, programs run in it under a given Node, scratch folders and free ports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { type RunResult, run } from './child-process.js';
import { type ConsumerNode, type ConsumerProject, consumerEnv } from './consumer-project.js';

/** The consumer project of this run. */
export const consumer = (): ConsumerProject => inject('consumer');

/** Runs `node <args>` in the consumer project under `node`. */
export function runNode(
  node: ConsumerNode,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(node.bin, args, {
    cwd: consumer().dir,
    env: consumerEnv(node.bin, options.env),
    timeoutMs: options.timeoutMs ?? 20_000,
  });
}

/** Runs `npx <args>` in the consumer project, with `node` first on PATH. */
export function runNpx(node: ConsumerNode, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('npx', args, { cwd: consumer().dir, env: consumerEnv(node.bin), timeoutMs });
}

const scratchDirs: string[] = [];
/** A new folder beside the consumer project (short paths: socket paths must fit 108 bytes). */
export function scratchDir(): string {
  const dir = mkdtempSync(join(consumer().base, 's-'));
  scratchDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** The schemes of the README's transport table, each with its own URL maker. */
export const SCHEMES = ['unix', 'nng+ipc', 'nng+tcp', 'ws', 'file', 'rdma+shm', 'rdma+cma'] as const;
export type Scheme = (typeof SCHEMES)[number];

/** A URL of `scheme` to listen on: paths in a fresh scratch folder, ports free a moment ago. */
export async function urlFor(scheme: Scheme): Promise<string> {
  switch (scheme) {
    case 'nng+tcp':
      return `nng+tcp://127.0.0.1:${await freePort()}`;
    case 'ws':
      return `ws://127.0.0.1:${await freePort()}/`;
    case 'unix':
      return `unix://${join(scratchDir(), 'u.sock')}`;
    case 'nng+ipc':
      return `nng+ipc://${join(scratchDir(), 'n.ipc')}`;
    case 'file':
      return `file://${join(scratchDir(), 'channel')}`;
    case 'rdma+shm':
    case 'rdma+cma':
      return `${scheme}://${join(scratchDir(), 'ctl.sock')}`;
  }
}
