/**
 * Processes of the installed-package tests: each runs in its own process group, so a timeout or a
 * stop ends it with everything it started (npx runs the command line in a child of its own).
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The process group is killed after this long; the result then has `timedOut`. */
  timeoutMs: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** What a failed run printed, for an assertion message. */
export const describeRun = (what: string, r: RunResult): string =>
  `${what}: exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Runs `command` to completion (or to its timeout) and collects its output. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A process left running in the background, e.g. `npx openclaw-ipc serve <url>`. */
export interface BackgroundProcess {
  /** What it printed on stdout up to the line that said it was ready. */
  readonly output: string;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `command` and resolves once a line of its stdout matches `ready`.
 * Rejects (after killing it) if it exits first or `timeoutMs` passes.
 */
export function startBackground(
  command: string,
  args: string[],
  options: RunOptions & { ready: RegExp },
): Promise<BackgroundProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<void>((done) => child.on('close', () => done()));
    const stop = async (graceMs = 5_000) => {
      killGroup(child, 'SIGTERM');
      const late = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(late);
    };
    const fail = (why: string) => {
      clearTimeout(timer);
      killGroup(child, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: ${why}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${options.timeoutMs} ms`), options.timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!started && options.ready.test(stdout)) {
        started = true;
        clearTimeout(timer);
        resolve({ output: stdout, stop });
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => fail(err.message));
    child.on('close', (code, signal) => {
      if (!started) fail(`exited (${code ?? signal}) before it was ready`);
    });
  });
}
