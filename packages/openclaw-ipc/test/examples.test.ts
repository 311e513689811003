import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeArgs } from './helpers.js';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples');

function runExample(name: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, join(examples, name)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

// The examples are documentation: each must run as written and print what its comments promise.
describe('examples run as documented', () => {
  it('quickstart.ts prints 5', async () => {
    const r = await runExample('quickstart.ts');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe('5');
  });

  it('typed-contract.ts greets, adds, emits and refuses bad params', async () => {
    const r = await runExample('typed-contract.ts');
    expect(r.code).toBe(0);
    expect(r.out).toContain('hello, Ada');
    expect(r.out).toContain('42');
    expect(r.out).toContain('event: greeted Ada');
    expect(r.out).toContain('refused: PROTOCOL');
  });

  it('cancel-and-timeout.ts times out, aborts, and stops the handler', async () => {
    const r = await runExample('cancel-and-timeout.ts');
    expect(r.code).toBe(0);
    expect(r.out).toContain('client: TIMEOUT');
    expect(r.out).toContain('client: ABORTED');
    expect(r.out).toContain('server: handler stopped (ABORTED)');
  });

  it('events.ts delivers ticks through the iterator and news to the subscriber', async () => {
    const r = await runExample('events.ts');
    expect(r.code).toBe(0);
    expect(r.out).toContain('tick: { n: 3 }');
    expect(r.out).toContain("news: { headline: 'subscribers only' }");
  });

  it('rdma-blob.ts moves 8 MiB and 16 MiB by rendezvous, CRC32C checked', async () => {
    const r = await runExample('rdma-blob.ts');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('CRC32C matches: true');
    expect(r.out).toContain('received 16777216 bytes');
  });
});
