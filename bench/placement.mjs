// Where the benchmark's processes run. A round trip between two processes costs far more when the
// kernel wakes the peer on another CPU than on the one that is already running, and left to
// itself the scheduler moves the two between these cases from run to run: on the 2-CPU machine of
// docs/benchmarks.md a raw ws echo took 29 µs per sequential round trip with both processes on
// one CPU and 76 µs with one on each, and an unpinned run lands anywhere in between. A ratio of
// two rows measured under different placements says nothing, so the programs that compare
// latencies pin their processes with taskset (util-linux):
//
//   split  the client (the benchmark program and what it spawns) on CPU 0, every server on
//          CPU 1: each process has a core of its own, as on a machine with cores to spare
//          (the default, on a machine with 2 CPUs or more);
//   same   client and servers on CPU 0: each wake-up is a switch on one core;
//   free   no pinning: wherever the scheduler puts them.
//
// `node bench/run.mjs --placement=same` (or OPENCLAW_BENCH_PLACEMENT=same) picks one; without
// taskset (macOS, Windows) runs are `free`. A process is pinned with all its threads
// (`taskset -a`); threads it makes later inherit the CPU.
import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const PLACEMENTS = ['split', 'same', 'free'];

/** Whether taskset is there to pin with (util-linux; not on macOS or Windows). */
const canPin = () => spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

function chosen() {
  const flag = process.argv.find((a) => a.startsWith('--placement='));
  const wanted = flag ? flag.slice('--placement='.length) : process.env.OPENCLAW_BENCH_PLACEMENT;
  if (wanted !== undefined && wanted !== '') {
    if (!PLACEMENTS.includes(wanted)) throw new Error(`--placement must be one of ${PLACEMENTS.join(', ')}`);
    if (wanted !== 'free' && !canPin()) throw new Error(`--placement=${wanted} needs taskset (util-linux)`);
    return wanted;
  }
  // Without taskset the run is unpinned, and its header says so.
  return availableParallelism() >= 2 && canPin() ? 'split' : 'free';
}

/** The placement of this run: 'split', 'same' or 'free'. */
export const placement = chosen();

const CLIENT_CPU = 0;
const SERVER_CPU = placement === 'split' ? 1 : 0;

/** Pins process `pid` and all its threads to `cpu`; throws when taskset is missing or refuses. */
function pin(pid, cpu) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Pins this process (the client side) as the placement says. Call it first thing. */
export function pinClient() {
  if (placement !== 'free') pin(process.pid, CLIENT_CPU);
}

/** Pins a server process as the placement says; call it as soon as it has been spawned. */
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
