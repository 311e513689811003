// The server of the live gateway page (`openclaw-ipc gateway <url> web`): what it serves and
// refuses, without a gateway (the page against the real gateway: browser-gateway.test.ts).
import { request } from 'node:http';
import { IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { runGatewayCommand, serveGatewayWeb } from '../src/index.js';
import { onCleanup } from './util/raw.js';

function get(
  url: string,
  init: { method?: string; host?: string } = {},
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', headers: init.host ? { host: init.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('gateway web server', () => {
  it('serves the page with the gateway URL and token inside it (script-safe), the app and the browser builds', async () => {
    const web = await serveGatewayWeb({ gatewayUrl: 'ws://127.0.0.1:18789', token: 'a</script><b>&' });
    onCleanup(() => web.close());
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(web.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="importmap">');
    expect(page.body).toContain('"url":"ws://127.0.0.1:18789"');
    expect(page.body).toContain('"token":"a\\u003c/script\\u003e\\u003cb\\u003e\\u0026"');
    expect(page.body).not.toContain('a</script>');
    const app = await get(`${web.url}app.js`);
    expect(app.type).toContain('text/javascript');
    expect(app.body).toContain("from '@openclaw-ipc/ws'");
    for (const m of ['_m/ws/browser.js', '_m/core/browser.js']) {
      const r = await get(`${web.url}${m}`);
      expect(r.status, m).toBe(200);
      expect(r.type).toContain('text/javascript');
    }
  });

  it('refuses another Host (403), other methods (405), paths outside its files (404)', async () => {
    const web = await serveGatewayWeb({ gatewayUrl: 'ws://127.0.0.1:18789' });
    onCleanup(() => web.close());
    const port = new URL(web.url).port;
    expect((await get(web.url, { host: 'evil.example' })).status).toBe(403);
    expect((await get(web.url, { host: `evil.example:${port}` })).status).toBe(403);
    expect((await get(web.url, { host: `localhost:${port}` })).status).toBe(200);
    expect((await get(web.url, { method: 'POST' })).status).toBe(405);
    for (const path of ['_m/ws/../package.json', '_m/ws/index.js.txt', 'package.json', '_m/other/browser.js'])
      expect((await get(`${web.url}${path}`)).status, path).toBe(404);
    // Without a token the page carries none (it asks for one).
    expect((await get(web.url)).body).not.toContain('"token":');
  });

  it('fails with typed errors: a URL that is not ws: (INVALID_ARGUMENT), a port taken (UNAVAILABLE)', async () => {
    const bad = await serveGatewayWeb({ gatewayUrl: 'http://127.0.0.1:1' }).catch((e) => e);
    expect(bad).toBeInstanceOf(IpcError);
    expect(bad.code).toBe('INVALID_ARGUMENT');
    const web = await serveGatewayWeb({ gatewayUrl: 'ws://127.0.0.1:1' });
    onCleanup(() => web.close());
    const taken = await serveGatewayWeb({
      gatewayUrl: 'ws://127.0.0.1:1',
      port: Number(new URL(web.url).port),
    }).catch((e) => e);
    expect(taken.code).toBe('UNAVAILABLE');
  });

  it('`gateway <url> web` takes only --port <p>: anything else is a usage error (exit 2)', async () => {
    const err: string[] = [];
    const io = { stdout: { write: () => {} }, stderr: { write: (t: string) => err.push(t) } };
    expect(await runGatewayCommand(['ws://127.0.0.1:1', 'web', '--port', 'x'], io)).toBe(2);
    expect(await runGatewayCommand(['ws://127.0.0.1:1', 'web', '--host', '0.0.0.0'], io)).toBe(2);
    expect(await runGatewayCommand(['ws://127.0.0.1:1', 'web', '--port', '70000'], io)).toBe(2);
    expect(err.join('')).toContain('web [--port <p>]');
  });
});
