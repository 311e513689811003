// Where the JS thread's time goes per request, on both sides of the nng benchmark:
//   node --import tsx bench/nng/profile.ts [nng|rpc] [--flight 100000] [--sequential] [--keep <dir>]
// Runs bench/nng/servers.ts and a client (64 requests in flight, 64 B; with --sequential, 50,000
// round trips one at a time instead) in two processes, each
// under `node --cpu-prof`, and prints each side's top functions by self time, as a share of the
// samples where the thread was not idle, and its CPU µs per request. `--keep` keeps the
// .cpuprofile files (open them in Chrome's DevTools).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const kind = argv.includes('rpc') ? 'rpc' : 'nng';
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sequential = argv.includes('--sequential');
const SEQ_N = sequential ? 50_000 : 1000;
const FLIGHT_N = sequential ? 1000 : Number(opt('--flight') ?? 100_000);
const keep = opt('--keep');
const dir = keep ?? mkdtempSync(join(tmpdir(), 'nng-prof-'));
mkdirSync(join(dir, 'server'), { recursive: true });
mkdirSync(join(dir, 'client'), { recursive: true });
const url = `ipc://${join(dir, 'p.ipc')}`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The top `n` functions of a .cpuprofile by self samples, in % of the non-idle samples. */
function top(file: string, n: number): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let busy = 0;
  for (const node of prof.nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url: src, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || hits === 0) continue;
    const where = src ? ` ${src.replace(/^.*\/(packages|node_modules)\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + hits);
    busy += hits;
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, hits]) => `${((hits / busy) * 100).toFixed(1).padStart(5)} %  ${key}`);
}

function run(args: string[], profDir: string, onLine?: (line: string) => void): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', profDir, ...process.execArgv, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    onLine?.(out);
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code, signal) =>
      code === 0 || signal === 'SIGTERM' ? resolve(out) : reject(new Error(`${args[0]} exited ${code}`)),
    ),
  ).then(() => out) as Promise<string>;
}

async function main(): Promise<void> {
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const server = spawn(
    process.execPath,
    [
      '--cpu-prof',
      '--cpu-prof-dir',
      join(dir, 'server'),
      ...process.execArgv,
      join(here, 'servers.ts'),
      kind,
      url,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  server.stdout.on('data', (d) => String(d).includes('ready') && ready());
  const serverExit = new Promise((r) => server.once('exit', r));
  await isReady;
  const out = await run(
    [join(here, 'client.ts'), kind, url, String(SEQ_N), String(FLIGHT_N)],
    join(dir, 'client'),
  );
  server.kill('SIGTERM'); // servers.ts exits on SIGTERM, so that its profile is written
  await serverExit;
  const r = JSON.parse(out.trim().split('\n').pop()!) as {
    seqUs: number;
    seqCpu: number;
    flight: number;
    flightCpu: number;
  };
  console.log(
    sequential
      ? `${kind}, ${SEQ_N} sequential requests: ${r.seqUs.toFixed(1)} µs each, client CPU ${r.seqCpu.toFixed(1)} µs per request`
      : `${kind}, ${FLIGHT_N} requests with 64 in flight: ${Math.round(r.flight)}/s, client CPU ${r.flightCpu.toFixed(1)} µs per request`,
  );
  for (const side of ['client', 'server']) {
    const file = readdirSync(join(dir, side)).find((f) => f.endsWith('.cpuprofile'))!;
    console.log(`\n${side} (self time, % of non-idle samples; the whole run):`);
    for (const line of top(join(dir, side, file), 20)) console.log(line);
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  });
