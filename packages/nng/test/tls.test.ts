// tls+tcp:// with the TLS engine Debian's libnng is built with (mbedTLS), and a certificate
// made for the test with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
