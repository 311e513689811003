// The verbs provider across two real processes over the verbs TEST DOUBLE
// (native/verbs/test-double): no RDMA device exists here, so both child processes load the test
// double in place of libibverbs/librdmacm (OPENCLAW_IPC_LIBIBVERBS / OPENCLAW_IPC_LIBRDMACM).
// Registration, connection, posting and completion run through the addon's real verbs code;
// the double moves the bytes with process_vm_readv/writev and checks rkeys in its own MR table.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patterned } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const double = join(root, 'native', 'verbs', 'build', 'libverbs-test-double.so');
const env = { ...process.env, OPENCLAW_IPC_LIBIBVERBS: double, OPENCLAW_IPC_LIBRDMACM: double };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Proc {
  child: ChildProcess;
  /** Resolves with the next stdout line matching `test`. */
  line(test: (l: string) => boolean): Promise<string>;
  exited: Promise<number | null>;
  send(line: string): void;
}

function run(fixture: string, args: string[]): Proc {
  const child = spawn(
    process.execPath,
    ['--conditions=@openclaw-ipc/source', '--import', 'tsx', join(here, 'fixtures', fixture), ...args],
    { env, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const seen: string[] = [];
  const waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];
  let buf = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.findIndex((x) => x.test(l));
      if (w >= 0) waiters.splice(w, 1)[0]!.resolve(l);
      else seen.push(l);
      i = buf.indexOf('\n');
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    line: (test) => {
      const i = seen.findIndex(test);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        void exited.then((code) => reject(new Error(`${fixture} exited (${code}) before the line`)));
      });
    },
    send: (l) => child.stdin!.write(`${l}\n`),
  };
}

async function startServer(): Promise<{ proc: Proc; info: string }> {
  const proc = run('verbs-server.ts', []);
  const info = await proc.line((l) => l.startsWith('{'));
  await proc.line((l) => l === 'ready');
  return { proc, info };
}

async function scenario(info: string, name: string, drive?: (client: Proc) => Promise<void>) {
  const client = run('verbs-client.ts', [info, name]);
  await drive?.(client);
  const line = await client.line((l) => l.startsWith('{"result"'));
  expect(await client.exited).toBe(0);
  return (JSON.parse(line) as { result: any }).result;
}

/**
 * Stops a child with SIGSTOP and resolves once the kernel reports it stopped: kill() returns
 * before a busy process has stopped, and a loaded machine widens that window.
 */
async function stopped(child: ChildProcess): Promise<void> {
  child.kill('SIGSTOP');
  for (let i = 0; i < 400; i++) {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`process ${child.pid} did not stop`);
}

describe('verbs provider over the test double, two processes', () => {
  let server: { proc: Proc; info: string };

  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'native', 'verbs', 'test-double', 'build.mjs'), '--quiet']);
    server = await startServer();
  });

  afterAll(async () => {
    server?.proc.child.kill('SIGTERM');
    await server?.proc.exited;
  });

  it('registers, connects, and RDMA READ / WRITE move the right bytes', async () => {
    const r = await scenario(server.info, 'readWrite');
    expect(r.whole).toBe(sha(patterned(1 << 20)));
    expect(r.part).toBe(sha(patterned(1 << 20).subarray(12_345, 12_345 + 4000)));
    expect(r.partHead).toBe(true);
    expect(r.readBack).toBe(r.written);
    server.proc.send('digest');
    const digest = await server.proc.line((l) => l.startsWith('digest '));
    expect(digest).toBe(`digest ${r.written}`);
  });

  it('a wrong rkey fails the completion with a typed IpcError; the queue pair is then in error', async () => {
    const r = await scenario(server.info, 'wrongKey');
    expect(r.wrongKey).toMatchObject({
      ipc: true,
      code: 'AUTH',
      details: { provider: 'verbs', reason: 'EREMOTEACCESS', wcStatus: 'IBV_WC_REM_ACCESS_ERR' },
    });
    expect(r.afterError).toMatchObject({ ipc: true, code: 'CLOSED', details: { reason: 'EQPERROR' } });
    expect(r.again).toEqual({ ok: true });
    expect(r.bytes).toBe(r.expected);
  });

  it('reads outside the region, or writes without REMOTE_WRITE, fail with IBV_WC_REM_ACCESS_ERR', async () => {
    const r = (await scenario(server.info, 'outOfRange')) as unknown[];
    expect(r).toHaveLength(4);
    for (const each of r)
      expect(each).toMatchObject({
        ipc: true,
        code: 'AUTH',
        details: { reason: 'EREMOTEACCESS', wcStatus: 'IBV_WC_REM_ACCESS_ERR' },
      });
  });

  it('closing with operations pending rejects them CLOSED', async () => {
    const r = await scenario(server.info, 'closePending');
    expect(r.inflight).toBe(32);
    expect(r.codes).toEqual(Array(32).fill('ECLOSED'));
    expect(r.afterClose).toMatchObject({ ipc: false, code: 'ECLOSED' });
    expect(r.provider).toHaveLength(8);
    for (const each of r.provider) expect(each).toMatchObject({ ipc: true, code: 'CLOSED' });
  });

  it('the server side pairs the RDMA connection with the client token and reads the client', async () => {
    let pulled = '';
    const r = await scenario(server.info, 'pulledByServer', async (client) => {
      const hello = JSON.parse(await client.line((l) => l.startsWith('{"token"'))) as Record<string, unknown>;
      server.proc.send(`token ${hello.token} ${hello.addr} ${hello.key} ${hello.length}`);
      pulled = await server.proc.line((l) => l.startsWith('pulled '));
      client.send('done');
    });
    expect(pulled).toBe(`pulled ${r.expected}`);
  });

  it('peer death: pending operations and later ones reject CLOSED', async () => {
    const victim = await startServer();
    const r = await scenario(victim.info, 'peerDeath', async (client) => {
      await client.line((l) => l.startsWith('{"connected"'));
      await stopped(victim.proc.child);
      client.send('go');
      await client.line((l) => l.startsWith('{"posted"'));
      victim.proc.child.kill('SIGKILL');
    });
    await victim.proc.exited;
    expect(r.results).toHaveLength(4);
    for (const each of r.results) expect(each).toMatchObject({ ipc: true, code: 'CLOSED' });
    expect(r.after).toMatchObject({ ipc: true, code: 'CLOSED' });
  });
});

describe('rdma+verbs:// over the test double, two processes', () => {
  it('moves large results and params by rendezvous through RDMA READs of the other process', async () => {
    execFileSync(process.execPath, [join(root, 'native', 'verbs', 'test-double', 'build.mjs'), '--quiet']);
    const server = run('verbs-transport.ts', ['server']);
    try {
      const url = await server.line((l) => l.startsWith('rdma+verbs://'));
      await server.line((l) => l === 'ready');
      const client = run('verbs-transport.ts', ['client', url]);
      const r = (JSON.parse(await client.line((l) => l.startsWith('{"result"'))) as { result: any }).result;
      expect(await client.exited).toBe(0);
      expect(r.echo).toEqual({ hello: 'verbs' });
      expect(r.blobs).toEqual([
        { size: 64 * 1024 + 1, length: 64 * 1024 + 1, ok: true },
        { size: 1024 * 1024, length: 1024 * 1024, ok: true },
        { size: 8 * 1024 * 1024, length: 8 * 1024 * 1024, ok: true },
      ]);
      expect(r.params).toEqual({ length: 3 * 1024 * 1024 + 7, crc: r.expected });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
