/**
 * Installs the ipckit Python package (the peer of the interop tests and the benchmark) with pip
 * if it is not importable yet. Idempotent; the version is pinned.
 */
import { execFileSync } from 'node:child_process';

export const IPCKIT_VERSION = '0.1.12';
export const PYTHON = process.env.PYTHON ?? 'python3';

export function ensureIpckit(): void {
  const probe = `import importlib.metadata as m, sys; sys.exit(0 if m.version('ipckit') == '${IPCKIT_VERSION}' else 1)`;
  try {
    execFileSync(PYTHON, ['-c', probe], { stdio: 'ignore' });
    return;
  } catch {
    // not installed, or another version
  }
  execFileSync(
    PYTHON,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `ipckit==${IPCKIT_VERSION}`],
    {
      stdio: 'inherit',
      timeout: 300_000,
    },
  );
}
