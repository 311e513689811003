import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe, stop, tempDir } from './helpers.js';

describe('openclaw-ipc command line over unix://', () => {
  const dir = tempDir();
  const sock = join(dir, 'cli.sock');
  const url = `unix://${sock}`;
  let server: ChildProcess;

  beforeAll(async () => {
    server = await startServe(url);
  });
  afterAll(async () => {
    await stop(server);
  });

  it('call prints the result as JSON and exits 0', async () => {
    const r = await runCli(['call', url, 'echo', '{"a":[1,2],"b":"x"}']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ a: [1, 2], b: 'x' });
  });

  it('call of a failing method prints the code on stderr and exits 1', async () => {
    const r = await runCli(['call', url, 'fail', '{"code":"NOPE","message":"asked to fail"}']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('REMOTE(NOPE): asked to fail');
  });

  it('call honours --timeout', async () => {
    const r = await runCli(['call', url, 'sleep', '{"ms":5000}', '--timeout', '200']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^TIMEOUT: /);
  });

  it('blob returns the bytes asked for', async () => {
    const r = await runCli(['call', url, 'blob', '{"size":300}']);
    expect(r.code).toBe(0);
    const bytes = Buffer.from(JSON.parse(r.stdout), 'base64');
    expect(bytes.length).toBe(300);
    expect(bytes[257]).toBe(1);
  });

  it('an unknown method is a remote METHOD_NOT_FOUND', async () => {
    const r = await runCli(['call', url, 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('REMOTE(METHOD_NOT_FOUND): Unknown method: nope');
  });

  it('bench prints round trips per second and percentiles', async () => {
    const r = await runCli(['bench', url, '--duration', '1', '--concurrency', '4', '--size', '128']);
    expect(r.code).toBe(0);
    const [header, , row] = r.stdout.trim().split('\n');
    expect(header).toContain('round trips/s');
    expect(header).toContain('p99 µs');
    const cells = row!.trim().split(/\s{2,}/);
    expect(Number(cells[4])).toBeGreaterThan(0); // requests
    expect(Number(cells[5])).toBeGreaterThan(0); // round trips/s
  });

  it('serve removes its socket file when stopped', async () => {
    const path = join(dir, 'stop.sock');
    const child = await startServe(`unix://${path}`);
    expect(existsSync(path)).toBe(true);
    await stop(child);
    expect(existsSync(path)).toBe(false);
  });
});

describe('openclaw-ipc command line errors', () => {
  it('an unknown scheme lists the known ones', async () => {
    const r = await runCli(['call', 'foo://x', 'ping']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('INVALID_ARGUMENT: unknown scheme "foo:"');
    expect(r.stderr).toContain('unix:');
    expect(r.stderr).toContain('nng+ipc:');
  });

  it('nobody listening is a CONNECT error', async () => {
    const r = await runCli(['call', `unix://${join(tempDir(), 'none.sock')}`, 'ping']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^CONNECT: /);
  });

  it('a usage error exits 2 with the usage', async () => {
    const r = await runCli(['call']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage:');
  });

  it('invalid JSON params are a usage-level INVALID_ARGUMENT', async () => {
    const r = await runCli(['call', 'unix:///tmp/x.sock', 'echo', '{nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('INVALID_ARGUMENT: params are not valid JSON');
  });
});
