import { IpcError, msgpackDialect, RpcClient, RpcServer } from '@openclaw-ipc/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectUnix, UnixListener } from '../src/index.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-unix-');
afterAll(() => dir.remove());
let n = 0;
const sockPath = () => dir.path(`s${n++}.sock`);
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function pair() {
  const path = sockPath();
  const server = new RpcServer({ dialect: msgpackDialect });
  server.serve(await UnixListener.listen(path));
  const client = await RpcClient.connect({ dialect: msgpackDialect, link: (s) => connectUnix(path, {}, s) });
  cleanup.push(
    () => client.close(),
    () => server.close(),
  );
  return { server, client, path };
}

describe('unix transport', () => {
  it('answers requests', async () => {
    const { server, client } = await pair();
    server.handle('echo', (p) => p);
    await expect(client.request('echo', { a: 1 })).resolves.toEqual({ a: 1 });
    const many = await Promise.all(Array.from({ length: 100 }, (_, i) => client.request('echo', i)));
    expect(many).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('reports remote errors with their code', async () => {
    const { server, client } = await pair();
    server.handle('fail', () => {
      throw new IpcError('AUTH', 'nope');
    });
    const err = await client.request('fail').catch((e) => e);
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('AUTH');
    expect(err.message).toBe('nope');
  });
});
