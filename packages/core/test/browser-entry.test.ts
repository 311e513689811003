// The browser entry of core (export condition `browser`) bundles for the web platform: nothing
// from node:, no msgpackr, none of the Node-only modules; and it exports the client's API.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import { countUtf8Bytes } from '../src/utf8-length.js';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

describe('core browser entry', () => {
  it('bundles with --platform=browser without node:, msgpackr, native-addon or endpoint-access', async () => {
    const result = await build({
      entryPoints: [join(src, 'browser.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(10);
    expect(inputs.filter((p) => /^node:|msgpack|native-addon|endpoint-access/.test(p))).toEqual([]);
  });

  it('exports the RPC client, errors, messages, the JSON codec and dialect, contracts and reconnect', () => {
    for (const name of [
      'RpcClient',
      'IpcError',
      'RemoteError',
      'newMessageId',
      'jsonCodec',
      'openclawJson',
      'defineContract',
      'ReconnectPolicy',
      'EventStream',
      'frameSize',
    ])
      expect(browser, name).toHaveProperty(name);
    expect(browser).not.toHaveProperty('msgpackCodec');
    expect(browser).not.toHaveProperty('findNativeAddon');
    expect(browser.newMessageId()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('counts UTF-8 bytes without Buffer as Buffer does (ASCII, 2-, 3- and 4-byte characters, lone surrogates)', () => {
    const samples = ['', 'abc', 'héllo', '€uro', '𝄞 clef', 'a\ud800b', '\udc00', 'x'.repeat(1000) + '😀'];
    for (const text of samples)
      expect(countUtf8Bytes(text), JSON.stringify(text)).toBe(Buffer.byteLength(text, 'utf8'));
  });
});
