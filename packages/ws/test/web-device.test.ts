// The browser's device identity (WebCrypto Ed25519, IndexedDB) signs the gateway's v2 and v3
// payloads to the very bytes Node's DeviceIdentity (node:crypto, key file) does: in Node's own
// WebCrypto and in real Chromium.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcError } from '@openclaw-ipc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebDeviceIdentity } from '../src/gateway/web-device.js';
import { type DeviceAuthFields, DeviceIdentity } from '../src/index.js';
import { bundleForBrowser, closeChromium, openPage, type TestPage } from './util/browser.js';

type PageWindow = { lib: { ws: typeof import('../src/browser.js') }; [key: string]: any };

const fields: DeviceAuthFields = {
  clientId: 'openclaw-control-ui',
  clientMode: 'webchat',
  role: 'operator',
  scopes: ['operator.read', 'operator.write'],
  signedAtMs: 1_767_000_000_123,
  token: 'tok-ÄÖ',
  nonce: '5f0c4d2e-1b7a-4c55-9a43-2d1c0e6f7a88',
  platform: 'Linux x86_64',
  deviceFamily: 'Desktop',
};

let dir: string;
let node: DeviceIdentity;
let pkcs8: Uint8Array;
let tp: TestPage;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oc-web-device-'));
  const keyFile = join(dir, 'device.pem');
  node = DeviceIdentity.loadOrCreate(keyFile);
  const pem = readFileSync(keyFile, 'utf8');
  pkcs8 = new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
  tp = await openPage(await bundleForBrowser('lib.ts'));
}, 60_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await tp?.close();
  await closeChromium();
});

describe('WebDeviceIdentity', () => {
  it('in Node’s WebCrypto: same id, public key and v2/v3 signatures as DeviceIdentity for the same key', async () => {
    const web = await WebDeviceIdentity.fromPkcs8(pkcs8);
    expect(web.id).toBe(node.id);
    expect(web.publicKey).toBe(node.publicKey);
    expect(web.keys.privateKey.extractable).toBe(false);
    for (const version of ['v2', 'v3'] as const)
      expect(await web.prove(fields, version)).toEqual(node.prove(fields, version));
  });

  it('in Chromium: same proofs as Node’s DeviceIdentity, from a non-extractable key', async () => {
    const out = await tp.page.evaluate(
      async ([bytes, f]) => {
        const { WebDeviceIdentity: Web } = (window as unknown as PageWindow).lib.ws;
        const web = await Web.fromPkcs8(new Uint8Array(bytes));
        return {
          id: web.id,
          publicKey: web.publicKey,
          extractable: web.keys.privateKey.extractable,
          v2: await web.prove(f, 'v2'),
          v3: await web.prove(f, 'v3'),
        };
      },
      [Array.from(pkcs8), fields] as const,
    );
    expect(out.id).toBe(node.id);
    expect(out.publicKey).toBe(node.publicKey);
    expect(out.extractable).toBe(false);
    expect(out.v2).toEqual(node.prove(fields, 'v2'));
    expect(out.v3).toEqual(node.prove(fields, 'v3'));
  });

  it('in Chromium: keeps a generated non-extractable key in IndexedDB across page loads, until forgotten', async () => {
    const load = () =>
      tp.page.evaluate(async () => {
        const { WebDeviceIdentity: Web } = (window as unknown as PageWindow).lib.ws;
        const [a, b] = await Promise.all([Web.loadOrCreate('test-key'), Web.loadOrCreate('test-key')]);
        const signature = await a.sign('payload');
        return { a: a.id, b: b.id, extractable: a.keys.privateKey.extractable, signature: signature.length };
      });
    const first = await load();
    expect(first.a).toMatch(/^[0-9a-f]{64}$/);
    expect(first.b).toBe(first.a);
    expect(first.extractable).toBe(false);
    expect(first.signature).toBe(86); // base64url of 64 bytes
    await tp.page.reload();
    await tp.page.waitForFunction(() => (window as unknown as PageWindow).ready === true);
    expect((await load()).a).toBe(first.a);
    await tp.page.evaluate(() =>
      (window as unknown as PageWindow).lib.ws.WebDeviceIdentity.forget('test-key'),
    );
    expect((await load()).a).not.toBe(first.a);
  });

  it('refuses what is not an Ed25519 key with INVALID_ARGUMENT, and reports no IndexedDB as UNAVAILABLE', async () => {
    const bad = await WebDeviceIdentity.fromPkcs8(new Uint8Array([1, 2, 3])).catch((e) => e);
    expect(bad).toBeInstanceOf(IpcError);
    expect(bad.code).toBe('INVALID_ARGUMENT');
    const ec = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const wrong = await WebDeviceIdentity.fromKeyPair(ec).catch((e) => e);
    expect(wrong.code).toBe('INVALID_ARGUMENT');
    // Node has no IndexedDB.
    const none = await WebDeviceIdentity.loadOrCreate('x').catch((e) => e);
    expect(none.code).toBe('UNAVAILABLE');
  });
});
