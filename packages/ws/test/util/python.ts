/**
 * The Python peer's dependency: `websockets`, installed once with pip into a cache folder of
 * this package (ignored by git) when the interpreter does not already have it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PYTHON_CACHE = join(here, '..', '..', '.cache', 'python');

/** Returns the environment under which `python3` can import websockets (installing it if needed). */
export function ensurePythonWebsockets(): NodeJS.ProcessEnv {
  const env = {
    ...process.env,
    PYTHONPATH: [PYTHON_CACHE, process.env.PYTHONPATH].filter(Boolean).join(':'),
  };
  const has = () => {
    try {
      execFileSync('python3', ['-c', 'import websockets'], { env, stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return env;
  if (!existsSync(PYTHON_CACHE)) mkdirSync(PYTHON_CACHE, { recursive: true });
  execFileSync(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      PYTHON_CACHE,
      'websockets>=13',
    ],
    { stdio: 'inherit', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (!has()) throw new Error('python3 cannot import websockets after installing it');
  return env;
}
