// The same browser build in Deno and Bun (their platform WebSocket and WebCrypto), against our
// Node ws server: requests, events of a subscription, cancellation, a device proof.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWsServer, type WsServer } from '../src/index.js';
import { bundleForBrowser } from './util/browser.js';
import { ensureRuntime } from './util/runtimes.js';

let dir: string;
let bundle: string;
let ws: WsServer;
let aborted = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oc-runtimes-'));
  bundle = join(dir, 'check.mjs');
  writeFileSync(bundle, await bundleForBrowser('runtime-check.ts'));
  // Deno and Bun send no Origin: the server's origin check does not concern them.
  ws = await createWsServer({ heartbeatInterval: 0 });
  ws.server.handle('echo', (p) => p);
  ws.server.handle('publish', () => {
    ws.server.publish('news', { n: 1 });
    return true;
  });
  ws.server.handle('hang', (_p, ctx) => {
    return new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => {
        aborted++;
        reject(new Error('aborted'));
      }),
    );
  });
}, 120_000);
afterAll(async () => {
  await ws?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const runtimes = {
  deno: (bin: string) => [bin, ['run', '--allow-net', bundle, ws.address]],
  bun: (bin: string) => [bin, ['run', bundle, ws.address]],
} as const;

describe.each(Object.keys(runtimes) as Array<keyof typeof runtimes>)('the browser build in %s', (name) => {
  it('requests, a burst, events of a subscription, cancel by AbortSignal, an Ed25519 device proof', async () => {
    const before = aborted;
    const [cmd, args] = runtimes[name](ensureRuntime(name)) as [string, string[]];
    const r = await run(cmd, args);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out).toEqual({
      echo: { runtime: 'check', text: 'héllo' },
      burst: [1, 2, 3],
      events: [{ n: 1 }],
      aborted: 'ABORTED',
      signature: 86,
      id: 64,
    });
    await expect.poll(() => aborted).toBe(before + 1);
  }, 120_000);
});
