import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RpcServer } from '@openclaw-ipc/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWsServer, forgeDialect, publishEvent } from '../src/index.js';
import { ensurePythonWebsockets } from './util/python.js';
import { onCleanup } from './util/raw.js';

const run = promisify(execFile);
const script = join(dirname(fileURLToPath(import.meta.url)), 'interop', 'client.py');
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  env = ensurePythonWebsockets();
}, 120_000);

function handlers(server: RpcServer, forge: boolean) {
  server.handle('add', (p: { a: number; b: number }) => p.a + p.b);
  server.handle('publish', (p: { topic?: string; session_id?: string }) => {
    if (forge) publishEvent(server, p.session_id!, 'note', { from: 'server' });
    else server.publish(p.topic!, { from: 'server' });
    return 'published';
  });
}

describe('an independent client: Python websockets', () => {
  it('speaks JSON-RPC 2.0 with our server (header token, batch, errors, events, ping)', async () => {
    const { server, address } = await createWsServer({ authToken: 'py-token', heartbeatInterval: 0 });
    onCleanup(() => server.close());
    handlers(server, false);
    const { stdout } = await run('python3', [script, address, 'py-token', 'jsonrpc'], {
      env,
      timeout: 30_000,
    });
    const seen = JSON.parse(stdout);
    expect(seen.add).toEqual({ jsonrpc: '2.0', result: 42, id: 7 });
    expect(seen.batch).toEqual([0, 1, 2, 3, 4].map((i) => ({ jsonrpc: '2.0', result: 2 * i, id: i })));
    expect(seen.missing.error.code).toBe(-32601);
    expect(seen.binary).toEqual({
      jsonrpc: '2.0',
      error: { code: -32700, message: 'Parse error' },
      id: null,
    });
    expect(seen.subscribe.result).toEqual({ subscribed: true, topic: 'py' });
    expect(seen.publish).toEqual([
      { jsonrpc: '2.0', result: 'published', id: 9 },
      { jsonrpc: '2.0', method: 'py', params: { from: 'server' } },
    ]);
    expect(seen.pong).toBe(true);
  });

  it('speaks forge with our server', async () => {
    const { server, address } = await createWsServer({
      dialect: forgeDialect,
      authToken: 'py-token',
      heartbeatInterval: 0,
    });
    onCleanup(() => server.close());
    handlers(server, true);
    const { stdout } = await run('python3', [script, address, 'py-token', 'forge'], { env, timeout: 30_000 });
    const seen = JSON.parse(stdout);
    expect(seen.add).toEqual({ id: 'a', success: true, result: 42 });
    expect(seen.bad.id).toBe('unknown');
    expect(seen.bad.error).toMatch(/^Invalid JSON: /);
    expect(seen.subscribe).toEqual({
      id: 's',
      success: true,
      result: { subscribed: true, session_id: 'py' },
    });
    expect(seen.publish).toEqual([
      { id: 'p', success: true, result: 'published' },
      { event_type: 'note', data: { from: 'server' } },
    ]);
  });
});
