/**
 * wss:// without an https.Server of the user's: listen('wss://…', { cert, key }) from files or
 * PEM text, an encrypted key, mutual TLS; and every way a TLS dial is refused (a CA the client
 * does not trust, an expired certificate, a host name the certificate does not cover, no client
 * certificate where one is required) rejects AUTH at once with the reason, never falling back to
 * plain ws. The certificates are made for the test by scripts/test-certificates.mjs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IpcError, RpcServer } from '@openclaw-ipc/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectWsClient, wsTransport } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = join(tmpdir(), `oc-wss-${process.pid}`);
const f = (name: string) => join(dir, name);
const PASSPHRASE = 'test-passphrase';

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts', 'test-certificates.mjs'), dir]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: RpcServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(options: Record<string, unknown>): Promise<RpcServer> {
  const server = await wsTransport.listen(new URL('wss://127.0.0.1:0'), {
    heartbeatInterval: 0,
    handlers: { whoami: () => 'wss server' },
    ...options,
  });
  servers.push(server);
  return server;
}

/** Dials once (no reconnect) and returns the error, how long the refusal took. */
async function refused(
  url: string,
  options: Record<string, unknown>,
): Promise<{ err: IpcError; ms: number }> {
  const start = performance.now();
  const err = await connectWsClient(url, { reconnect: false, heartbeatInterval: 0, ...options }).then(
    (c) => {
      c.close();
      throw new Error('connected');
    },
    (e: IpcError) => e,
  );
  return { err, ms: performance.now() - start };
}

describe('wss:// listeners', () => {
  it('serve from certificate and key files; a client trusting the CA file gets answers', async () => {
    const server = await serve({ cert: f('server.pem'), key: f('server.key') });
    expect(server.address).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const client = await connectWsClient(server.address!, { ca: f('test-ca.pem'), heartbeatInterval: 0 });
    expect(await client.request('whoami')).toBe('wss server');
    client.close();
  });

  it('take PEM text and an encrypted key with its passphrase', async () => {
    const server = await serve({
      cert: readFileSync(f('server.pem'), 'utf8'),
      key: readFileSync(f('server-encrypted.key')),
      passphrase: PASSPHRASE,
    });
    const client = await connectWsClient(server.address!, {
      ca: readFileSync(f('test-ca.pem'), 'utf8'),
      servername: 'localhost',
      heartbeatInterval: 0,
    });
    expect(await client.request('whoami')).toBe('wss server');
    client.close();
  });

  it('refuse options that cannot work: a wrong passphrase, a missing file, wss without a key, a key on ws:', async () => {
    await expect(
      serve({ cert: f('server.pem'), key: f('server-encrypted.key'), passphrase: 'wrong' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(serve({ cert: f('server.pem'), key: f('missing.key') })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('missing.key'),
    });
    await expect(serve({ cert: f('server.pem') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      wsTransport.listen(new URL('ws://127.0.0.1:0'), { cert: f('server.pem'), key: f('server.key') }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('with a client CA, answer clients with a certificate it signed and refuse the others at once (AUTH)', async () => {
    const server = await serve({ cert: f('server.pem'), key: f('server.key'), ca: f('test-ca.pem') });
    const client = await connectWsClient(server.address!, {
      ca: f('test-ca.pem'),
      cert: f('client.pem'),
      key: f('client.key'),
      heartbeatInterval: 0,
    });
    expect(await client.request('whoami')).toBe('wss server');
    client.close();
    const { err, ms } = await refused(server.address!, { ca: f('test-ca.pem') });
    expect(err.code).toBe('AUTH');
    expect(err.message).toMatch(/certificate/i);
    expect(ms).toBeLessThan(5000);
  });
});

describe('a wss dial is refused with AUTH and the reason', () => {
  it('when the server certificate is signed by a CA the client does not trust', async () => {
    const server = await serve({ cert: f('server.pem'), key: f('server.key') });
    const { err } = await refused(server.address!, { ca: f('other-ca.pem') });
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    // Node's own CA list does not have the test CA either.
    expect((await refused(server.address!, {})).err.code).toBe('AUTH');
  });

  it('when the server certificate has expired', async () => {
    const server = await serve({ cert: f('expired.pem'), key: f('expired.key') });
    const { err } = await refused(server.address!, { ca: f('test-ca.pem') });
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ code: 'CERT_HAS_EXPIRED' });
  });

  it('when the certificate does not cover the host name asked for', async () => {
    const server = await serve({ cert: f('server.pem'), key: f('server.key') });
    const { err } = await refused(server.address!, { ca: f('test-ca.pem'), servername: 'other.example' });
    expect(err.code).toBe('AUTH');
    expect(err.details).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('and never falls back to plain ws: wss to a plain ws server fails to connect', async () => {
    const plain = await wsTransport.listen(new URL('ws://127.0.0.1:0'), { heartbeatInterval: 0 });
    servers.push(plain);
    const port = new URL(plain.address!).port;
    const { err } = await refused(`wss://127.0.0.1:${port}/`, { ca: f('test-ca.pem') });
    expect(err.code).toBe('CONNECT');
  });

  it('while rejectUnauthorized: false (tests only) connects to an untrusted server', async () => {
    const server = await serve({ cert: f('server.pem'), key: f('server.key') });
    const client = await connectWsClient(server.address!, {
      rejectUnauthorized: false,
      heartbeatInterval: 0,
    });
    expect(await client.request('whoami')).toBe('wss server');
    client.close();
  });
});

describe('refused credentials end the reconnect loop', () => {
  it('a client whose token the restarted server refuses closes with AUTH instead of redialling', async () => {
    const first = await wsTransport.listen(new URL('ws://127.0.0.1:0'), {
      heartbeatInterval: 0,
      authToken: 'old',
    });
    const port = Number(new URL(first.address!).port);
    const client = await connectWsClient(first.address!, {
      token: 'old',
      heartbeatInterval: 0,
      reconnect: { minDelay: 10, maxDelay: 20 },
    });
    const states: string[] = [];
    const closed = new Promise<IpcError | undefined>((resolve) =>
      client.onState((state, error) => {
        states.push(state);
        if (state === 'closed') resolve(error);
      }),
    );
    await first.close();
    const second = await wsTransport.listen(new URL(`ws://127.0.0.1:${port}`), {
      heartbeatInterval: 0,
      authToken: 'new',
    });
    servers.push(second);
    const error = await closed;
    expect(error?.code).toBe('AUTH');
    expect(states).toEqual(['reconnecting', 'closed']);
    await expect(client.request('whoami')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
