/**
 * Installs the ipckit Python package (the peer of the interop tests and the benchmark) with pip
 * into a cache folder under os.tmpdir(), once per version; the peer runs with that folder on
 * PYTHONPATH. A target folder works on Pythons whose site-packages pip may not touch (PEP 668).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const IPCKIT_VERSION = '0.1.12';
export const PYTHON = process.env.PYTHON ?? 'python3';
export const IPCKIT_CACHE = join(tmpdir(), `openclaw-ipc-ipckit-${IPCKIT_VERSION}`);

/** The environment for a Python process that imports ipckit. */
export const ipckitEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PYTHONPATH: [IPCKIT_CACHE, process.env.PYTHONPATH].filter(Boolean).join(':'),
});

/** Installs ipckit==IPCKIT_VERSION into IPCKIT_CACHE unless it is there. Idempotent. */
export function ensureIpckit(): void {
  if (!existsSync(join(IPCKIT_CACHE, 'ipckit', '__init__.py'))) {
    execFileSync(
      PYTHON,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--no-deps',
        '--target',
        IPCKIT_CACHE,
        `ipckit==${IPCKIT_VERSION}`,
      ],
      { stdio: 'inherit', timeout: 300_000 },
    );
  }
  execFileSync(PYTHON, ['-c', 'import ipckit; ipckit.FileChannel'], { stdio: 'inherit', env: ipckitEnv() });
}
