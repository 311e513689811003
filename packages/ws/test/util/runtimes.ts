/**
 * Deno and Bun from their npm packages (`deno`, `bun`: each ships its binary in a platform
 * package), installed once into packages/ws/.cache/runtimes with npm, install scripts off.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cache = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'runtimes');
export const RUNTIME_VERSIONS = { deno: '2.9.6', bun: '1.4.5' } as const;

/** The binary of the runtime's platform package (Linux x64). */
function binaryOf(name: keyof typeof RUNTIME_VERSIONS): string {
  const modules = join(cache, name, 'node_modules');
  return name === 'deno'
    ? join(modules, '@deno', `${process.platform}-${process.arch}-glibc`, 'deno')
    : join(modules, '@oven', `bun-${process.platform}-${process.arch}`, 'bin', 'bun');
}

/** Installs `name` (idempotent) and returns its executable. @throws Error when npm fails. */
export function ensureRuntime(name: keyof typeof RUNTIME_VERSIONS): string {
  const binary = binaryOf(name);
  if (existsSync(binary)) return binary;
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      join(cache, name),
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      `${name}@${RUNTIME_VERSIONS[name]}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (!existsSync(binary)) throw new Error(`npm installed ${name} but ${binary} is missing`);
  return binary;
}
