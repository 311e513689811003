// What a shipped addon must be, checked on the ELF file itself (readelf and objdump read every
// target's format): the right machine, only libc's own libraries in NEEDED, only the Node-API
// entry points exported, and no glibc symbol version newer than the floor. The prebuild script
// refuses an addon that fails, and test/prebuilds.test.ts (packages/nng, packages/rdma) checks
// the shipped files the same way.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compareGlibc, dynamicSymbols, newestGlibcNeeded } from './glibc-pins.mjs';
import { GLIBC_FLOOR, TARGETS } from './targets.mjs';

/** The only symbols an addon may define in its dynamic symbol table. */
export const ADDON_EXPORTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];

/** The libraries an addon may need, per libc: the C library's own. */
export const ALLOWED_NEEDED = {
  glibc: [
    'libc.so.6',
    'libm.so.6',
    'libpthread.so.0',
    'libdl.so.2',
    'ld-linux-x86-64.so.2',
    'ld-linux-aarch64.so.1',
  ],
  musl: ['libc.so'],
};

const MACHINE = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };

const readelf = (args, file) => execFileSync('readelf', [...args, file], { encoding: 'utf8' });

/** The facts about one shared object that the rules speak of. */
export function describeAddon(file) {
  const machine = /Machine:\s+(.+)/.exec(readelf(['-h'], file))?.[1].trim();
  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map(
    (m) => m[1],
  );
  const exported = dynamicSymbols(file)
    .filter((s) => s.defined)
    .map((s) => s.name)
    .sort();
  return { machine, needed, exported, newestGlibc: newestGlibcNeeded(file) };
}

/** The rules `file`, built for `target`, breaks (an empty list when it keeps them all). */
export function addonProblems(file, target) {
  const t = TARGETS[target];
  const d = describeAddon(file);
  const problems = [];
  if (d.machine !== MACHINE[t.arch]) problems.push(`machine is ${d.machine}, not ${MACHINE[t.arch]}`);
  const extra = d.needed.filter((n) => !ALLOWED_NEEDED[t.libc].includes(n));
  if (extra.length) problems.push(`needs libraries beyond libc's: ${extra.join(', ')}`);
  const leaked = d.exported.filter((n) => !ADDON_EXPORTS.includes(n));
  if (leaked.length) problems.push(`exports more than the Node-API entry: ${leaked.slice(0, 10).join(', ')}`);
  if (!ADDON_EXPORTS.every((n) => d.exported.includes(n)))
    problems.push('the Node-API entry points are missing');
  if (t.libc === 'glibc' && d.newestGlibc && compareGlibc(d.newestGlibc, GLIBC_FLOOR) > 0) {
    const late = dynamicSymbols(file)
      .filter((s) => !s.defined && s.version.startsWith('GLIBC_2'))
      .filter((s) => compareGlibc(s.version.slice(6), GLIBC_FLOOR) > 0)
      .map((s) => `${s.name}@${s.version}`);
    problems.push(`needs glibc ${d.newestGlibc} (floor ${GLIBC_FLOOR}): ${late.join(', ')}`);
  }
  if (t.libc === 'musl' && d.newestGlibc) problems.push('a musl addon asks for glibc symbol versions');
  return problems;
}

/** Deletes a freshly built addon that breaks a rule and fails the build naming the rules. */
export function refuseBrokenAddon(file, target, fail) {
  const problems = addonProblems(file, target);
  if (problems.length === 0) return;
  rmSync(file, { force: true });
  fail(`${file}: ${problems.join('; ')}`);
}

// As a program: `node native/inspect.mjs <target> <file>` prints the facts and the problems as
// JSON (the prebuild tests read it).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [target, file] = process.argv.slice(2);
  console.log(JSON.stringify({ ...describeAddon(file), problems: addonProblems(file, target) }));
}
