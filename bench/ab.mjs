#!/usr/bin/env node
/**
 * bench/ab.mjs: this checkout against an earlier commit in one run (A/B), for changes that must
 * not slow a plain request.
 *
 *   node bench/ab.mjs <git-ref> [--runs N] [--program bench/unix/engine.ts] [-- program args]
 *
 * The commit is checked out once under .cache/ab/<sha> (a detached git worktree) with its own
 * packages linked in its node_modules/@openclaw-ipc; everything else resolves from this
 * checkout's node_modules. Both trees run their own copy of the program from their sources
 * (export condition @openclaw-ipc/source, through tsx), alternately, `--runs` times each (6 by
 * default), so that load on the machine falls on both alike. The program prints lines
 * `label: name value, name value; …` (bench/unix/engine.ts does) or markdown tables (bench/unix,
 * bench/ws); the table gives, for each label and name (row and column), the median of each tree
 * and B/A.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const split = process.argv.indexOf('--');
const ownArgs = split === -1 ? process.argv.slice(2) : process.argv.slice(2, split);
const programArgs = split === -1 ? ['--quick'] : process.argv.slice(split + 1);
const { values, positionals } = parseArgs({
  args: ownArgs,
  options: {
    runs: { type: 'string', default: '6' },
    program: { type: 'string', default: 'bench/unix/engine.ts' },
  },
  allowPositionals: true,
});
const [ref] = positionals;
if (!ref) {
  console.error('usage: node bench/ab.mjs <git-ref> [--runs N] [--program <file>] [-- program args]');
  process.exit(2);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, not ${values.runs}`);

const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const sha = git('rev-parse', '--verify', `${ref}^{commit}`);
const treeA = join(root, '.cache', 'ab', sha.slice(0, 12));
if (!existsSync(treeA)) {
  mkdirSync(dirname(treeA), { recursive: true });
  git('worktree', 'add', '--detach', treeA, sha);
}
// The commit's own packages first; the rest (msgpackr, ws, tsx…) from this checkout.
const scope = join(treeA, 'node_modules', '@openclaw-ipc');
mkdirSync(scope, { recursive: true });
for (const name of readdirSync(join(treeA, 'packages'))) {
  const link = join(scope, name);
  if (!existsSync(link)) symlinkSync(relative(scope, join(treeA, 'packages', name)), link, 'dir');
}

/** One run of the program in `tree`: { "label / name": value }. */
function measure(tree) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=@openclaw-ipc/source', '--import', 'tsx', values.program, ...programArgs],
    { cwd: tree, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`${values.program} in ${tree} failed:\n${r.stderr}`);
  const out = {};
  let header;
  let previous;
  for (const line of r.stdout.split('\n')) {
    // Markdown tables: `| row | cell | … |`, each cell that starts with a number under its column.
    if (line.startsWith('|')) {
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      // The row above the separator row names the columns.
      if (cells.every((c) => /^:?-+:?$/.test(c) || c === '')) {
        header = previous;
        continue;
      }
      previous = cells;
      if (header)
        cells.forEach((c, i) => {
          const n = /^(-?\d+(?:\.\d+)?)/.exec(c.replaceAll(',', ''))?.[1];
          if (i > 0 && n !== undefined && header[i]) out[`${cells[0]} / ${header[i]}`] = Number(n);
        });
      continue;
    }
    header = undefined;
    const m = /^([^:]+):\s+(.*)$/.exec(line);
    if (!m) continue;
    for (const [, name, value] of m[2].matchAll(/([A-Za-z0-9][A-Za-z0-9 ]*?)\s+(-?\d+(?:\.\d+)?)(?=[,;]|$)/g))
      out[`${m[1].trim()} / ${name.trim()}`] = Number(value);
  }
  return out;
}

const a = [];
const b = [];
for (let i = 0; i < runs; i++) {
  a.push(measure(treeA));
  b.push(measure(root));
  process.stderr.write(`run ${i + 1}/${runs}\n`);
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const keys = Object.keys(b[0]).filter((k) => k in a[0]);
const width = Math.max(...keys.map((k) => k.length));
console.log(
  `${values.program} ${programArgs.join(' ')}: A = ${ref} (${sha.slice(0, 7)}), B = this checkout; medians of ${runs} alternating runs`,
);
console.log(`${'measure'.padEnd(width)}  ${'A'.padStart(9)}  ${'B'.padStart(9)}    B/A`);
for (const k of keys) {
  const ma = median(a.map((r) => r[k]));
  const mb = median(b.map((r) => r[k]));
  console.log(
    `${k.padEnd(width)}  ${ma.toFixed(2).padStart(9)}  ${mb.toFixed(2).padStart(9)}  ${(mb / ma).toFixed(2).padStart(5)}`,
  );
}
