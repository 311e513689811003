import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { here } from './helpers.js';

const examples = join(here, '..', '..', '..', 'examples');

function run(name: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@openclaw-ipc/source', '--import', 'tsx', join(examples, name)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('file-channel examples run as documented', () => {
  it('file-ipckit.ts: a result, a remote error, an event', async () => {
    const r = await run('file-ipckit.ts');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('add -> 5');
    expect(r.out).toContain('fail -> REMOTE this one fails');
    expect(r.out).toContain('event: { done: 1, of: 1 }');
  });

  it('file-journal.ts: every event of both senders arrives', async () => {
    const r = await run('file-journal.ts');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('ping -> pong');
    expect(r.out).toContain('received 10000 of 10000 events');
  });
});
