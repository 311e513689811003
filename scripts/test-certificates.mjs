#!/usr/bin/env node
// Makes the certificates the TLS tests need, with openssl, into a folder: a CA, a second CA
// nobody trusts, and signed by the first one a server certificate (localhost, 127.0.0.1), a
// client certificate, an expired server certificate, and the server key encrypted with the
// passphrase `test-passphrase` (PKCS#8, AES-256-CBC).
// Usage: node scripts/test-certificates.mjs <folder>     (the folder is created, owner-only)
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PASSPHRASE = 'test-passphrase';

/** Writes every file into `dir`; returns their paths by name. */
export function makeTestCertificates(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (name) => join(dir, name);
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ca = (name) =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.pem`),
    );
  ca('test-ca');
  ca('other-ca');
  writeFileSync(p('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  // A leaf signed by test-ca; `dates` makes it valid from/until the given times (openssl ca).
  const leaf = (name, cn, ext, dates) => {
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
    );
    if (!dates) {
      ssl(
        'x509',
        '-req',
        '-in',
        p(`${name}.csr`),
        '-CA',
        p('test-ca.pem'),
        '-CAkey',
        p('test-ca.key'),
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        p(ext),
        '-out',
        p(`${name}.pem`),
      );
      return;
    }
    mkdirSync(p('ca-db'), { recursive: true });
    writeFileSync(p('ca-db/index.txt'), '');
    writeFileSync(p('ca-db/serial'), '1000\n');
    writeFileSync(
      p('ca.cnf'),
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `dir = ${p('ca-db')}`,
        'database = $dir/index.txt',
        'serial = $dir/serial',
        'new_certs_dir = $dir',
        'default_md = sha256',
        'policy = any',
        'copy_extensions = none',
        '[any]',
        'commonName = supplied',
      ].join('\n'),
    );
    ssl(
      'ca',
      '-batch',
      '-config',
      p('ca.cnf'),
      '-cert',
      p('test-ca.pem'),
      '-keyfile',
      p('test-ca.key'),
      '-startdate',
      dates[0],
      '-enddate',
      dates[1],
      '-extfile',
      p(ext),
      '-in',
      p(`${name}.csr`),
      '-out',
      p(`${name}.pem`),
      '-notext',
    );
  };
  leaf('server', 'localhost', 'server.ext');
  leaf('client', 'test client', 'client.ext');
  leaf('expired', 'localhost', 'server.ext', ['20200101000000Z', '20200102000000Z']);
  ssl(
    'pkcs8',
    '-topk8',
    '-v2',
    'aes-256-cbc',
    '-in',
    p('server.key'),
    '-out',
    p('server-encrypted.key'),
    '-passout',
    `pass:${PASSPHRASE}`,
  );
  const names = ['test-ca', 'other-ca', 'server', 'client', 'expired'];
  return Object.fromEntries([
    ...names.flatMap((n) => [
      [`${n}.pem`, p(`${n}.pem`)],
      [`${n}.key`, p(`${n}.key`)],
    ]),
    ['server-encrypted.key', p('server-encrypted.key')],
  ]);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/test-certificates.mjs <folder>');
    process.exit(2);
  }
  makeTestCertificates(dir);
}
