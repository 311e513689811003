// Where the benchmark's processes run. A round trip between two processes costs far more when the
// kernel wakes the peer on another CPU than on the one that is already running, and left to
// itself the scheduler moves the two between these cases from run to run: on the 2-CPU machine of
// docs/benchmarks.md a raw ws echo took 29 µs per sequential round trip with both processes on
// one CPU and 76 µs with one on each, and an unpinned run lands anywhere in between. A ratio of
// two rows measured under different placements says nothing, so the programs that compare
// latencies pin their processes with taskset (util-linux):
//
//   split  the client (the benchmark program and what it spawns) on the first CPU this process
//          may use, every server on the second: each process has a core of its own, as on a
//          machine with cores to spare (the default, where two CPUs may be used);
//   same   client and servers on the first CPU: each wake-up is a switch on one core;
//   free   no pinning: wherever the scheduler puts them.
//
// `node bench/run.mjs --placement=same` (or OPENCLAW_BENCH_PLACEMENT=same) picks one; without
// taskset (macOS, Windows) runs are `free`. A process is pinned with all its threads
// (`taskset -a`); threads it makes later inherit the CPU.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const PLACEMENTS = ['split', 'same', 'free'];

/** Whether taskset is there to pin with (util-linux; not on macOS or Windows). */
const canPin = () => spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * The CPUs this process may run on, in order (Linux's Cpus_allowed_list, e.g. "2-3,6"): a
 * container's cpuset need not start at CPU 0. Empty where /proc is not there.
 */
function allowedCpus() {
  let list;
  try {
    list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return [];
  }
  const cpus = [];
  for (const part of (list ?? '').split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus.filter(Number.isInteger);
}

const cpus = allowedCpus();

function chosen() {
  const flag = process.argv.find((a) => a.startsWith('--placement='));
  const wanted = flag ? flag.slice('--placement='.length) : process.env.OPENCLAW_BENCH_PLACEMENT;
  const needs = { split: 2, same: 1, free: 0 };
  if (wanted !== undefined && wanted !== '') {
    if (!PLACEMENTS.includes(wanted)) throw new Error(`--placement must be one of ${PLACEMENTS.join(', ')}`);
    if (wanted !== 'free' && !canPin()) throw new Error(`--placement=${wanted} needs taskset (util-linux)`);
    if (cpus.length < needs[wanted]) throw new Error(`--placement=${wanted} needs ${needs[wanted]} CPUs`);
    return wanted;
  }
  // Without taskset, or with one CPU, the run is unpinned, and its header says so.
  return cpus.length >= 2 && canPin() ? 'split' : 'free';
}

/** The placement of this run: 'split', 'same' or 'free'. */
export const placement = chosen();

const CLIENT_CPU = cpus[0];
const SERVER_CPU = placement === 'split' ? cpus[1] : cpus[0];

/** Pins process `pid` and all its threads to `cpu`; throws when taskset refuses. */
function pin(pid, cpu) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Pins this process (the client side) as the placement says. Call it first thing. */
export function pinClient() {
  if (placement !== 'free') pin(process.pid, CLIENT_CPU);
}

/**
 * Pins a server process as the placement says. Call it once the server is ready: its threads
 * then exist and are all pinned, and any it makes later inherit the CPU.
 */
export function pinServer(pid) {
  if (placement !== 'free' && pid !== undefined) pin(pid, SERVER_CPU);
}

/** One line for a table's header: where the processes ran. */
export function describePlacement() {
  if (placement === 'split')
    return `placement split: client on CPU ${CLIENT_CPU}, servers on CPU ${SERVER_CPU}`;
  if (placement === 'same') return `placement same: client and servers on CPU ${CLIENT_CPU}`;
  return 'placement free: processes not pinned';
}
