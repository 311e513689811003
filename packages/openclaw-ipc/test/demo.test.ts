import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeArgs } from './helpers.js';

const demo = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'demo.ts');

// `npm start` runs this program: every transport answers ping, echo and fail, except RDMA verbs,
// which says why it cannot run on a machine without an RDMA device.
describe('the demo of npm start', () => {
  it('serves and calls on every transport and prints a row for each', async () => {
    const child = spawn(process.execPath, [...nodeArgs, demo], {
      env: { ...process.env, OPENCLAW_IPC_DEMO_ROUNDS: '20' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    const rows = out.split('\n').filter((l) => /^(unix|nng|websocket|file|rdma)/.test(l));
    const working = rows.filter((l) => !l.startsWith('rdma verbs'));
    expect(working.length).toBe(8);
    for (const row of working) expect(row).toMatch(/\s+ok\s+ok\s+/);
    const verbs = rows.find((l) => l.startsWith('rdma verbs'));
    expect(verbs).toContain('unavailable');
    expect(out).toMatch(/note 1\. rdma verbs .*unavailable: libibverbs/);
  }, 60_000);
});
