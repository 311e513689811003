/**
 * `npm start`: a server and a client on every transport available here, a few calls each, and a
 * table of round-trip latency per transport.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteError } from '@openclaw-ipc/core';
import { table } from './cli/format.js';
import { demoHandlers } from './demo-service.js';
import { connect, knownSchemes, listen } from './index.js';

/** Echo round trips per transport; OPENCLAW_IPC_DEMO_ROUNDS changes it (the test runs a short demo). */
const ROUNDS = Math.max(10, Number(process.env.OPENCLAW_IPC_DEMO_ROUNDS) || 2000);

/** One address per transport, in a fresh temporary folder. */
function addresses(dir: string): Array<{ name: string; url: string }> {
  const candidates = [
    { name: 'unix (msgpack)', url: `unix://${join(dir, 'demo.sock')}` },
    { name: 'nng ipc (openclaw-ipc json)', url: `nng+ipc://${join(dir, 'demo.ipc')}` },
    { name: 'nng tcp (openclaw-ipc json)', url: 'nng+tcp://127.0.0.1:0' },
    { name: 'websocket (json-rpc 2.0)', url: 'ws://127.0.0.1:0/' },
    { name: 'file channel (ipckit format)', url: `file://${join(dir, 'chan')}` },
    { name: 'file channel (journal mode)', url: `file://${join(dir, 'journal')}?mode=journal` },
    { name: 'rdma shm (msgpack control)', url: `rdma+shm://${join(dir, 'rdma-shm.sock')}` },
    { name: 'rdma cma (msgpack control)', url: `rdma+cma://${join(dir, 'rdma-cma.sock')}` },
    // No RDMA device here: the row says why the verbs provider is unavailable.
    { name: 'rdma verbs (msgpack control)', url: 'rdma+verbs://127.0.0.1:0' },
  ];
  const known = new Set(knownSchemes());
  return candidates.filter((c) => known.has(new URL(c.url).protocol.slice(0, -1)));
}

async function measure(name: string, url: string) {
  const server = await listen(url);
  for (const [method, handler] of Object.entries(
    demoHandlers({ binary: server.dialect.frames === 'binary' }),
  )) {
    server.handle(method, handler);
  }
  // Servers bound to port 0 (or other generated addresses) report where they really listen.
  const address = server.address ?? url;
  // A file channel's server is its backend end; the client takes the frontend end.
  const client = await connect(address.replace('role=backend', 'role=frontend'), { reconnect: false });
  try {
    const pong = await client.request('ping');
    const echoed = await client.request('echo', { hello: name });
    const failed = await client.request('fail', { code: 'DEMO', message: 'as asked' }).catch((e) => e);
    if (!(failed instanceof RemoteError)) throw new Error('fail did not fail');
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await client.request('echo', { i });
      samples.push((performance.now() - t0) * 1000);
    }
    samples.sort((a, b) => a - b);
    return {
      transport: name,
      ping: (pong as { pong?: boolean }).pong ? 'ok' : 'bad',
      echo: JSON.stringify(echoed) === JSON.stringify({ hello: name }) ? 'ok' : 'bad',
      // The openclaw-ipc JSON and ipckit formats carry the error text only, no code.
      fail: failed.remoteCode === undefined ? `"${failed.message}"` : `${failed.remoteCode}`,
      'p50 µs': Number(samples[Math.floor(ROUNDS / 2)]!.toFixed(1)),
      'p99 µs': Number(samples[Math.floor(ROUNDS * 0.99)]!.toFixed(1)),
    };
  } finally {
    client.close();
    await server.close();
  }
}

async function demo(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-ipc-demo-'));
  const rows: Array<Record<string, string | number>> = [];
  const notes: string[] = [];
  try {
    for (const { name, url } of addresses(dir)) {
      try {
        rows.push(await measure(name, url));
      } catch (err) {
        notes.push(`${name}: ${(err as Error).message}`);
        rows.push({
          transport: name,
          ping: 'unavailable',
          echo: '',
          fail: `note ${notes.length}`,
          'p50 µs': '',
          'p99 µs': '',
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `openclaw-ipc demo: server and client on each transport, ${ROUNDS} sequential echo round trips\n\n`,
  );
  process.stdout.write(`${table(rows)}\n`);
  if (notes.length > 0) process.stdout.write(`\n${notes.map((n, i) => `note ${i + 1}. ${n}`).join('\n')}\n`);
}

demo().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
