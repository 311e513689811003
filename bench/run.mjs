#!/usr/bin/env node
// Runs the benchmark programs one after the other: bench/<name>/bench.ts and bench/<name>.mjs, or the
// names given (`npm run bench -- unix nng`). Each prints its own table with ratios against a
// baseline measured in the same run; nothing here is a test and nothing asserts a speed.
//
// They measure the built packages (each package's dist/, made by `npm run build`, which
// `npm run bench` runs first): what users import. `--source` runs them on the TypeScript
// sources instead (through tsx, whose output keeps function names with a defineProperty per
// closure made: measurably slower on hot paths, so not what a figure should report).
//
// `--write-docs` also writes each program's output into its page, docs/benchmarks-<name>.md
// (bench/codec.mjs: docs/benchmarks.md), between the markers `<!-- bench/<name>: begin -->` and
// `<!-- bench/<name>: end -->`, replacing the previous run's: its tables as printed, its charts
// (bench/chart.mjs) as SVG files under docs/charts/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseChartLine, svgBars, textBars } from './chart.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// Flags (e.g. --quick) go to every program.
const flags = process.argv
  .slice(2)
  .filter((a) => a.startsWith('-') && a !== '--source' && a !== '--write-docs');
const docs = process.argv.includes('--write-docs');
const source = process.argv.includes('--source') ? ['--conditions=@openclaw-ipc/source'] : [];
// bench/<name>/bench.ts programs, and single-file ones such as bench/codec.mjs (not the tools:
// this runner, the chart maker, the A/B runner).
const TOOLS = new Set(['run.mjs', 'chart.mjs', 'ab.mjs']);
const programs = new Map();
for (const e of readdirSync(here, { withFileTypes: true })) {
  if (e.isDirectory() && existsSync(join(here, e.name, 'bench.ts')))
    programs.set(e.name, join(here, e.name, 'bench.ts'));
  else if (e.isFile() && e.name.endsWith('.mjs') && !TOOLS.has(e.name))
    programs.set(e.name.slice(0, -4), join(here, e.name));
}
const names = [...programs.keys()].sort().filter((name) => wanted.length === 0 || wanted.includes(name));

/** Runs one program, its output shown line by line as it comes (charts as text bars), and returned. */
function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...source, '--import', 'tsx', file, ...flags], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: join(here, '..'),
      env: { ...process.env, OPENCLAW_BENCH_RUNNER: '1' },
    });
    let out = '';
    let shown = 0;
    const show = (end) => {
      const lines = out.slice(shown, end);
      shown = end;
      for (const line of lines.split('\n').slice(0, -1)) {
        const spec = parseChartLine(line);
        process.stdout.write(`${spec ? textBars(spec) : line}\n`);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      show(out.lastIndexOf('\n') + 1);
    });
    child.on('close', (code, signal) => {
      if (!out.endsWith('\n')) out += '\n';
      show(out.length);
      resolve({ code, signal, out });
    });
  });
}

/** Replaces bench/<name>'s region of its docs page with this run's output. */
function writeDocs(name, out, loadBefore) {
  const page = join(here, '..', 'docs', name === 'codec' ? 'benchmarks.md' : `benchmarks-${name}.md`);
  const begin = `<!-- bench/${name}: begin -->`;
  const end = `<!-- bench/${name}: end -->`;
  const text = readFileSync(page, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) {
    process.stdout.write(`${page} has no ${begin} … ${end} region; not written\n`);
    return;
  }
  // Progress lines ("done: …") are for the terminal only; each chart becomes an SVG file.
  const charts = join(here, '..', 'docs', 'charts');
  mkdirSync(charts, { recursive: true });
  let n = 0;
  const body = out
    .split('\n')
    .filter((l) => !l.startsWith('done: '))
    .map((l) => {
      const spec = parseChartLine(l);
      if (!spec) return l;
      const file = `${name}-${++n}.svg`;
      writeFileSync(join(charts, file), svgBars(spec));
      return `![${spec.title}](charts/${file})`;
    })
    .join('\n')
    .trim();
  const machine = `Linux ${release()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}; load average ${loadBefore} before the program, ${load()} after.`;
  writeFileSync(page, `${text.slice(0, a)}${begin}\n${machine}\n\n${body}\n${text.slice(b)}`);
  process.stdout.write(`written into ${page}\n`);
}

/** The one-minute load average: how busy the machine was (2 = both CPUs of this one busy). */
const load = () => loadavg()[0].toFixed(1);

let failed = 0;
for (const name of names) {
  process.stdout.write(`\n=== bench/${name}\n`);
  const loadBefore = load();
  const r = await run(programs.get(name));
  if (r.code !== 0) {
    failed++;
    process.stdout.write(`bench/${name} failed (exit ${r.code ?? r.signal})\n`);
  } else if (docs) writeDocs(name, r.out, loadBefore);
}
process.exitCode = failed ? 1 : 0;
