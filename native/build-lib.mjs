// The one way this repository builds a C shared object (the addons under native/ and the verbs
// test double): list the sources of a folder, skip the build when the output is newer than all
// of them, compile with the target's C compiler into a temporary file, rename it into place (a
// concurrent loader never sees a half-written file). Flags: --force rebuilds, --quiet says only
// errors, --target <id|all> picks the targets (native/targets.mjs; default: this machine's).
// Used by native/*/build.mjs; not a program of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const force = process.argv.includes('--force');
export const quiet = process.argv.includes('--quiet');

/** A logger and a fatal-error function prefixed with `[tag]`. */
export function reporter(tag) {
  return {
    log: (msg) => quiet || console.log(`[${tag}] ${msg}`),
    fail(message) {
      console.error(`[${tag}] build failed: ${message}`);
      process.exit(1);
    },
  };
}

/** The include folder of the npm package node-api-headers. */
export function nodeApiInclude(fail) {
  try {
    return createRequire(import.meta.url)('node-api-headers').include_dir;
  } catch {
    fail('the npm package node-api-headers is missing; run npm install at the repository root');
  }
}

function hostCompiler(fail) {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0) return cc;
  }
  fail('no C compiler found (tried $CC, cc, gcc, clang); install build-essential');
}

/**
 * Builds `output` from the .c files of `srcDir` (the .h files, `script` — the calling
 * build.mjs — and `inputs` count as inputs too). `args(sources, tmp, fail)` gives the compiler's
 * arguments; `cc` is the compiler (default: the host's); `check()` runs before compiling
 * (missing headers: fail with the package to install); `rebuild` forces a build (a library it
 * links was rebuilt). Returns the milliseconds taken, or undefined when the output was up to date.
 */
export function buildSharedObject({
  tag,
  srcDir,
  output,
  script,
  args,
  cc,
  check,
  inputs = [],
  rebuild = false,
}) {
  const { log, fail } = reporter(tag);
  const sources = readdirSync(srcDir)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .map((f) => join(srcDir, f));
  const here = dirname(fileURLToPath(import.meta.url));
  const common = [fileURLToPath(import.meta.url), join(here, 'targets.mjs'), join(here, 'addon.map')];
  const allInputs = [...sources, ...inputs, fileURLToPath(script), ...common];
  if (!force && !rebuild && existsSync(output)) {
    const built = statSync(output).mtimeMs;
    if (allInputs.every((f) => statSync(f).mtimeMs < built)) {
      log(`up to date: ${output}`);
      return undefined;
    }
  }
  check?.(fail);
  const compiler = cc ?? hostCompiler(fail);
  mkdirSync(dirname(output), { recursive: true });
  const tmp = `${output}.${process.pid}.tmp`;
  const argv = args(
    sources.filter((f) => f.endsWith('.c')),
    tmp,
    fail,
  );
  const started = process.hrtime.bigint();
  try {
    execFileSync(compiler, argv, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  } catch {
    fail(`${compiler} ${argv.join(' ')}`);
  }
  renameSync(tmp, output);
  return Number(process.hrtime.bigint() - started) / 1e6;
}
