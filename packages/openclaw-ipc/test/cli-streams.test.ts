/**
 * The command line's streaming commands against `openclaw-ipc serve` in another process:
 * `call … --stream` prints a streamed result as JSON lines, `events <url> [name…]` prints events
 * as JSON lines until SIGINT, which ends either cleanly (exit 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, nodeArgs, runCli, startServe, stop, tempDir } from './helpers.js';

/** Starts the CLI and resolves once stdout has `lines` lines; the caller stops it. */
function startCli(args: string[], lines: number): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [...nodeArgs, cliPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.split('\n').length > lines) resolve({ child, out: () => out });
    });
    child.once('exit', (code) => reject(new Error(`cli exited with ${code} early: ${err}`)));
  });
}
const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

describe('openclaw-ipc call --stream and events', () => {
  const url = `unix://${join(tempDir(), 'streams.sock')}`;
  const jsonUrl = `unix://${join(tempDir(), 'json.sock')}`;
  let server: ChildProcess;
  let jsonServer: ChildProcess;
  beforeAll(async () => {
    server = await startServe(url, ['--tick', '20']);
    jsonServer = await startServe(jsonUrl, ['--dialect', 'openclaw-ipc']);
  });
  afterAll(async () => {
    await stop(server);
    await stop(jsonServer);
  });

  it('call --stream prints each item as a JSON line and exits 0', async () => {
    const r = await runCli(['call', url, 'count', '{"to":5}', '--stream']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
  });

  it('call --stream over a dialect that cannot stream fails UNSUPPORTED at once', async () => {
    const r = await runCli(['call', jsonUrl, 'count', '{"to":5}', '--stream', '--dialect', 'openclaw-ipc']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^UNSUPPORTED: /);
  });

  it('call --stream stops cleanly on SIGINT', async () => {
    const { child, out } = await startCli(['call', url, 'count', '{"to":100000,"ms":20}', '--stream'], 2);
    child.kill('SIGINT');
    expect(await exitCode(child)).toBe(0);
    const lines = out().trim().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ n: 1 });
    expect(lines.length).toBeLessThan(100000);
  });

  it('events prints the named events as JSON lines until SIGINT, then exits 0', async () => {
    const { child, out } = await startCli(['events', url, 'tick'], 3);
    child.kill('SIGINT');
    expect(await exitCode(child)).toBe(0);
    const events = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const e of events) expect(e).toMatchObject({ event: 'tick', data: { n: expect.any(Number) } });
    const ns = events.map((e) => e.data.n as number);
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
  });

  it('events without names prints every event', async () => {
    const { child, out } = await startCli(['events', url], 2);
    child.kill('SIGINT');
    expect(await exitCode(child)).toBe(0);
    expect(JSON.parse(out().split('\n')[0]!)).toMatchObject({ event: 'tick' });
  });

  it('events exits 1 with CLOSED when the server goes away', async () => {
    const sock = `unix://${join(tempDir(), 'gone.sock')}`;
    const doomed = await startServe(sock, ['--tick', '20']);
    const { child } = await startCli(['events', sock, 'tick'], 1);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    doomed.kill('SIGKILL');
    expect(await exitCode(child)).toBe(1);
    expect(err).toMatch(/CLOSED/);
  });
});
