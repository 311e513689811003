// tls+tcp:// with the TLS engine Debian's libnng is built with (mbedTLS), and a certificate
// made for the test with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNng, listenNng, tlsEngine } from '../src/index.js';

let dir: string;
let cert: string;
let key: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nng-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tls+tcp://', () => {
  it('this libnng has a TLS engine', () => {
    expect(tlsEngine()).not.toBe('none');
  });

  it('serves RPC over TLS; a client that does not trust the certificate cannot connect', async () => {
    const server = await listenNng('nng+tls+tcp://127.0.0.1:0', {
      tls: { cert, key },
      handlers: { whoami: () => 'tls server' },
    });
    try {
      const client = await connectNng(server.address!, { tls: { ca: cert, serverName: 'localhost' } });
      expect(await client.request('whoami')).toBe('tls server');
      client.close();
      const untrusted = await connectNng(server.address!, {
        tls: { serverName: 'localhost', auth: 'required' },
        connectTimeout: 3000,
        reconnect: false,
      }).catch((e) => e);
      expect(untrusted.code).toBe('AUTH'); // nng EPEERAUTH: the server's certificate is not trusted
    } finally {
      await server.close();
    }
  });
});

/**
 * tls+tcp:// from files, an encrypted key, mutual authentication, and the refusals (an untrusted
 * CA, an expired certificate, a wrong host name, a client without the certificate the server
 * requires): AUTH at once, with certificates made by scripts/test-certificates.mjs.
 */
describe('tls+tcp:// from files, with a key passphrase and mutual authentication', () => {
  const certs = join(tmpdir(), `nng-tls-files-${process.pid}`);
  const f = (name: string) => join(certs, name);
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts', 'test-certificates.mjs'), certs]);
  });
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  const refusal = async (url: string, tls: Record<string, unknown>) => {
    const start = performance.now();
    const err = await connectNng(url, { tls, connectTimeout: 5000, reconnect: false }).then(
      (c) => {
        c.close();
        return new Error('connected');
      },
      (e) => e,
    );
    return { err, ms: performance.now() - start };
  };

  it('serves from a certificate file and an encrypted key file; the client trusts the CA file', async () => {
    const server = await listenNng('nng+tls+tcp://127.0.0.1:0', {
      tls: { cert: f('server.pem'), key: f('server-encrypted.key'), passphrase: 'test-passphrase' },
      handlers: { whoami: () => 'tls server' },
    });
    try {
      const client = await connectNng(server.address!, {
        tls: { ca: f('test-ca.pem'), serverName: 'localhost' },
      });
      expect(await client.request('whoami')).toBe('tls server');
      client.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a wrong passphrase, a file that cannot be read, and a cert without its key', async () => {
    await expect(
      listenNng('nng+tls+tcp://127.0.0.1:0', {
        tls: { cert: f('server.pem'), key: f('server-encrypted.key'), passphrase: 'wrong' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('passphrase') });
    await expect(
      listenNng('nng+tls+tcp://127.0.0.1:0', { tls: { cert: f('server.pem'), key: f('nothing-here.key') } }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('nothing-here.key'),
    });
    await expect(
      listenNng('nng+tls+tcp://127.0.0.1:0', { tls: { cert: f('server.pem') } }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('with auth required on the server, answers a client with a certificate of its CA and refuses one without (AUTH)', async () => {
    const server = await listenNng('nng+tls+tcp://127.0.0.1:0', {
      tls: { cert: f('server.pem'), key: f('server.key'), ca: f('test-ca.pem'), auth: 'required' },
      handlers: { whoami: () => 'mutual' },
    });
    try {
      const client = await connectNng(server.address!, {
        tls: { ca: f('test-ca.pem'), cert: f('client.pem'), key: f('client.key'), serverName: 'localhost' },
      });
      expect(await client.request('whoami')).toBe('mutual');
      client.close();
      const { err, ms } = await refusal(server.address!, { ca: f('test-ca.pem'), serverName: 'localhost' });
      // nng reports the server's cut during the handshake; the message names the likely cause.
      expect(err.code).toBe('CONNECT');
      expect(err.message).toMatch(/TLS handshake.*client certificate/);
      expect(ms).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it('refuses with AUTH a server whose CA is not trusted, whose certificate expired, or whose name does not match', async () => {
    const good = await listenNng('nng+tls+tcp://127.0.0.1:0', {
      tls: { cert: f('server.pem'), key: f('server.key') },
    });
    const expired = await listenNng('nng+tls+tcp://127.0.0.1:0', {
      tls: { cert: f('expired.pem'), key: f('expired.key') },
    });
    try {
      const untrusted = await refusal(good.address!, { ca: f('other-ca.pem'), serverName: 'localhost' });
      expect(untrusted.err.code).toBe('AUTH');
      const wrongName = await refusal(good.address!, { ca: f('test-ca.pem'), serverName: 'other.example' });
      expect(wrongName.err.code).toBe('AUTH');
      const old = await refusal(expired.address!, { ca: f('test-ca.pem'), serverName: 'localhost' });
      expect(old.err.code).toBe('AUTH');
      for (const r of [untrusted, wrongName, old]) expect(r.ms).toBeLessThan(5000);
    } finally {
      await good.close();
      await expired.close();
    }
  });
});
