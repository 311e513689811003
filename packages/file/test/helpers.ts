import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));

/** A fresh channel directory under os.tmpdir(), removed by the returned cleanup. */
export function tempDir(prefix = 'oc-file-'): { dir: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), prefix));
  // Tests that do not await close() may leave a reader's pass under way (a cursor being saved
  // while the folder is removed): retry then. close.test in file-channel.test removes at once.
  return {
    dir: join(base, 'chan'),
    cleanup: () => rmSync(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }),
  };
}

/** Spawns a TypeScript child with the workspace's source condition. */
export function spawnTs(script: string, args: string[], options: { uid?: number; gid?: number } = {}) {
  return spawn(
    process.execPath,
    ['--conditions=@openclaw-ipc/source', '--import', 'tsx', join(here, script), ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options,
    },
  );
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
