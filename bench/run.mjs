#!/usr/bin/env node
// Runs the benchmark programs one after the other: bench/<name>/bench.ts and bench/<name>.mjs, or the
// names given (`npm run bench -- unix nng`). Each prints its own table with ratios against a
// baseline measured in the same run; nothing here is a test and nothing asserts a speed.
//
// They measure the built packages (each package's dist/, made by `npm run build`, which
// `npm run bench` runs first): what users import. `--source` runs them on the TypeScript
// sources instead (through tsx, whose output keeps function names with a defineProperty per
// closure made: measurably slower on hot paths, so not what a figure should report).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// Flags (e.g. --quick) go to every program.
const flags = process.argv.slice(2).filter((a) => a.startsWith('-') && a !== '--source');
const source = process.argv.includes('--source') ? ['--conditions=@openclaw-ipc/source'] : [];
// bench/<name>/bench.ts programs, and single-file ones such as bench/codec.mjs.
const programs = new Map();
for (const e of readdirSync(here, { withFileTypes: true })) {
  if (e.isDirectory() && existsSync(join(here, e.name, 'bench.ts')))
    programs.set(e.name, join(here, e.name, 'bench.ts'));
  else if (e.isFile() && e.name.endsWith('.mjs') && e.name !== 'run.mjs')
    programs.set(e.name.slice(0, -4), join(here, e.name));
}
const names = [...programs.keys()].sort().filter((name) => wanted.length === 0 || wanted.includes(name));

let failed = 0;
for (const name of names) {
  process.stdout.write(`\n=== bench/${name}\n`);
  const r = spawnSync(process.execPath, [...source, '--import', 'tsx', programs.get(name), ...flags], {
    stdio: 'inherit',
    cwd: join(here, '..'),
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench/${name} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed ? 1 : 0;
