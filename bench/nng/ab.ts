// A/B and split runs of the nng round trip, interleaved, for work on the addon:
//   node --import tsx bench/nng/ab.ts [--rounds 3] [--seq 5000]
//        [--flight 50000] [--rpc] [name=/path/to/checkout | name=/path/to/addon.node ...]
// Each round runs, in order, C↔C, C↔C with each side answering through an event-loop thread
// (floor.c's "hop" variants: the least any binding to Node's JS thread must add) and, for every
// variant given (default: this checkout), our client against the C server, the C client against
// our server, and ours on both sides. A variant is a checkout (its bench/nng/{servers,client}.ts,
// packages and nng prebuild for this machine) or an addon file run with this checkout's scripts
// and packages (an experimental build of native/nng, or one linked with another libnng). The
// server is a separate process; its CPU per round trip comes from /proc. Medians per row. The
// processes are pinned as in bench.ts (bench/placement.mjs; --placement=split|same|free).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a build script without type declarations
import { hostTarget, prebuildPath } from '../../native/targets.mjs';
import { describePlacement, pinClient, pinServer } from '../placement.mjs';
import { buildFloor } from './floor-build.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const ROUNDS = opt('--rounds', 3);
const SEQ_N = opt('--seq', 5000);
const FLIGHT_N = opt('--flight', 50000);
const kind = argv.includes('--rpc') ? 'rpc' : 'nng';
/** What runs our side: a checkout's scripts and packages, with an nng addon. */
interface Variant {
  name: string;
  root: string;
  addon: string;
}
const thisRoot = resolve(here, '../..');
const addonOf = (root: string) => prebuildPath(join(root, 'packages', 'nng'), 'nng', hostTarget());
const variants: Variant[] = argv
  .filter((a) => a.includes('='))
  .map((a) => {
    const [name, path] = a.split('=') as [string, string];
    return path.endsWith('.node')
      ? { name, root: thisRoot, addon: resolve(path) }
      : { name, root: resolve(path), addon: addonOf(resolve(path)) };
  });
if (variants.length === 0) variants.push({ name: 'this', root: thisRoot, addon: addonOf(thisRoot) });
const script = (root: string, file: string) => join(root, 'bench', 'nng', file);
const dir = mkdtempSync(join(tmpdir(), 'nng-ab-'));
const tsx = process.execArgv; // this program's flags: built packages or sources (bench/run.mjs)

async function startServer(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise<void>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) {
        pinServer(child.pid);
        res();
      }
    });
    child.on('exit', (code) => rej(new Error(`${cmd} exited ${code}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** CPU time (µs) of a process so far, from /proc/<pid>/stat (utime + stime). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

interface Sample {
  seqUs: number;
  flight: number;
  seqSrvCpu: number;
  flightSrvCpu: number;
  seqCliCpu?: number;
  flightCliCpu?: number;
}

/** A C side: the plain floor, or its variant that goes through an event-loop thread. */
type CSide = 'c' | 'c-hop';
const isC = (side: CSide | Variant): side is CSide => typeof side === 'string';

function cClient(bin: string, side: CSide, url: string, size: number, n: number, inflight: number): number {
  const args = ['client', url, String(size), String(n), String(inflight)];
  if (side === 'c-hop') args.push('hop');
  const [secs, count] = execFileSync(bin, args).toString().trim().split(' ').map(Number);
  return secs! / count!;
}

async function pair(
  bin: string,
  client: CSide | Variant,
  server: CSide | Variant,
  n: number,
): Promise<Sample> {
  const url = `ipc://${join(dir, `s${n}.ipc`)}`;
  const srv = isC(server)
    ? await startServer(bin, [server === 'c' ? 'server' : 'server-hop', url], {})
    : await startServer(process.execPath, [...tsx, script(server.root, 'servers.ts'), kind, url], {
        OPENCLAW_NNG_ADDON: server.addon,
      });
  try {
    if (isC(client)) {
      cClient(bin, client, url, 64, 1000, 1);
      let c0 = cpuOf(srv.pid!);
      const seqUs = cClient(bin, client, url, 64, SEQ_N, 1) * 1e6;
      const seqSrvCpu = (cpuOf(srv.pid!) - c0) / SEQ_N;
      cClient(bin, client, url, 64, 5000, 64);
      c0 = cpuOf(srv.pid!);
      const flight = 1 / cClient(bin, client, url, 64, FLIGHT_N, 64);
      const flightSrvCpu = (cpuOf(srv.pid!) - c0) / FLIGHT_N;
      return { seqUs, flight, seqSrvCpu, flightSrvCpu };
    }
    // Our client: server CPU over the whole client run, split by the client's own timing.
    const c0 = cpuOf(srv.pid!);
    const out = execFileSync(
      process.execPath,
      [...tsx, script(client.root, 'client.ts'), kind, url, String(SEQ_N), String(FLIGHT_N)],
      { env: { ...process.env, OPENCLAW_NNG_ADDON: client.addon }, cwd: client.root },
    ).toString();
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      seqUs: number;
      seqCpu: number;
      flight: number;
      flightCpu: number;
    };
    const total = cpuOf(srv.pid!) - c0;
    return {
      seqUs: r.seqUs,
      flight: r.flight,
      seqSrvCpu: NaN,
      flightSrvCpu: total / (SEQ_N + FLIGHT_N),
      seqCliCpu: r.seqCpu,
      flightCliCpu: r.flightCpu,
    };
  } finally {
    await stop(srv);
  }
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

async function main(): Promise<void> {
  pinClient(); // the client processes it spawns inherit the client's CPU
  const bin = buildFloor();
  const rows = new Map<string, Sample[]>();
  const add = (name: string, s: Sample) => rows.set(name, [...(rows.get(name) ?? []), s]);
  let n = 0;
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (let r = 0; r < ROUNDS; r++) {
    add('C client, C server', await pair(bin, 'c', 'c', n++));
    add('C, each side through a loop thread', await pair(bin, 'c-hop', 'c-hop', n++));
    for (const v of variants) {
      // The C programs speak raw bytes, not the RPC dialect: --rpc runs ours on both sides only.
      if (kind === 'nng') {
        add(`${v.name}: our client, C server`, await pair(bin, v, 'c', n++));
        add(`${v.name}: C client, our server`, await pair(bin, 'c', v, n++));
      }
      add(`${v.name}: ours both sides`, await pair(bin, v, v, n++));
    }
    process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
  }
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const floor = rows.get('C client, C server')!;
  const fSeq = median(floor.map((s) => s.seqUs));
  const fFl = median(floor.map((s) => s.flight));
  const f = (v: number, d = 1) => (Number.isNaN(v) ? '—' : v.toFixed(d));
  console.log(
    `${kind}, ${ROUNDS} rounds, seq ${SEQ_N}, flight ${FLIGHT_N}; loadavg ${load0} -> ${load1}; ${describePlacement()}`,
  );
  console.log(
    '| pair | seq µs | vs C | 64 in flight /s | vs C | srv CPU µs seq / flight | cli CPU µs seq / flight |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, ss] of rows) {
    const seq = median(ss.map((s) => s.seqUs));
    const fl = median(ss.map((s) => s.flight));
    console.log(
      `| ${name} | ${f(seq)} | ${f(seq / fSeq, 2)}x | ${Math.round(fl)} | ${f(fl / fFl, 2)}x | ` +
        `${f(median(ss.map((s) => s.seqSrvCpu)))} / ${f(median(ss.map((s) => s.flightSrvCpu)))} | ` +
        `${f(median(ss.map((s) => s.seqCliCpu ?? NaN)))} / ${f(median(ss.map((s) => s.flightCliCpu ?? NaN)))} |`,
    );
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
