// The browser build's GatewayClient in real Chromium against the real OpenClaw gateway (npm
// `openclaw` on Node 24, started as gateway.test.ts starts it). The page is served from a
// loopback origin, which the gateway accepts from a local client.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayCommand } from '../src/index.js';
import { bundleForBrowser, closeChromium, launchChromium, openPage, type TestPage } from './util/browser.js';
import { type RunningGateway, startGateway, waitForPort } from './util/gateway.js';

type PageWindow = { lib: { ws: typeof import('../src/browser.js') }; [key: string]: any };

const TOKEN = 'browser-token-0123456789';
let gw: RunningGateway;
let tp: TestPage;

beforeAll(async () => {
  const [gateway, page] = await Promise.all([
    startGateway(TOKEN),
    bundleForBrowser('lib.ts').then((script) => openPage(script)),
  ]);
  gw = gateway;
  tp = page;
  await waitForPort(gw.port, 120_000);
}, 300_000);
afterAll(async () => {
  await tp?.close();
  await closeChromium();
  await gw?.stop();
}, 30_000);

describe('browser GatewayClient in Chromium against the real gateway', () => {
  it('completes the handshake with a token only (waiting out the startup): health answers; a browser origin gets no scopes', async () => {
    const out = await tp.page.evaluate(
      async ([url, token]) => {
        const { GatewayClient } = (window as unknown as PageWindow).lib.ws;
        const client = await GatewayClient.connect({ url, token, connectTimeout: 120_000 });
        const health = await client.request<{ ok: boolean }>('health');
        const agents = await client.request('agents.list', {}).then(
          () => null,
          (e: any) => ({ code: e.code, remoteCode: e.remoteCode, details: e.details }),
        );
        const result = {
          protocol: client.protocol,
          connId: client.connId,
          methods: client.methods,
          auth: client.hello?.auth,
          health: health.ok,
          agents,
        };
        client.close();
        return result;
      },
      [gw.url, TOKEN] as const,
    );
    expect(out.protocol).toBe(4);
    expect(out.connId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.methods).toEqual(expect.arrayContaining(['health', 'agents.list', 'sessions.list']));
    expect(out.auth).toMatchObject({ method: 'token', role: 'operator' });
    expect(out.health).toBe(true);
    // Unlike a Node client on loopback, a page (it sends an Origin) is granted no scope without
    // a paired device identity: the next test pairs one.
    expect(out.auth?.scopes).toEqual([]);
    expect(out.agents).toMatchObject({
      code: 'REMOTE',
      remoteCode: 'FORBIDDEN',
      details: { code: 'MISSING_SCOPE' },
    });
  }, 180_000);

  it('signs a device identity kept in IndexedDB (v3 and v2): the gateway pairs it, grants operator.read; agents.list and sync', async () => {
    const out = await tp.page.evaluate(
      async ([url, token]) => {
        const { GatewayClient, WebDeviceIdentity } = (window as unknown as PageWindow).lib.ws;
        const results: unknown[] = [];
        for (const signatureVersion of ['v3', 'v2'] as const) {
          const client = await GatewayClient.connect({
            url,
            token,
            device: { keyName: 'gateway-test' },
            signatureVersion,
            // The gateway pairs a page's device silently on loopback only for its Control UI
            // (or a webchat client).
            client: { id: 'openclaw-control-ui', mode: 'ui' },
            connectTimeout: 60_000,
          });
          const agents = await client.request<{ defaultId: string; agents: Array<{ id: string }> }>(
            'agents.list',
            {},
          );
          const snapshot = await client.sync();
          results.push({
            deviceToken: typeof client.hello?.auth?.deviceToken,
            scopes: client.hello?.auth?.scopes,
            health: (await client.request<{ ok: boolean }>('health')).ok,
            defaultId: agents.defaultId,
            agentIds: agents.agents.map((a) => a.id),
            syncAgents: snapshot.agents.map((a) => a.id),
          });
          client.close();
        }
        const id = (await WebDeviceIdentity.loadOrCreate('gateway-test')).id;
        return { results, id };
      },
      [gw.url, TOKEN] as const,
    );
    expect(out.id).toMatch(/^[0-9a-f]{64}$/);
    expect(out.results).toHaveLength(2);
    for (const r of out.results)
      expect(r).toEqual({
        deviceToken: 'string',
        scopes: ['operator.read'],
        health: true,
        defaultId: 'main',
        agentIds: expect.arrayContaining(['main']),
        syncAgents: expect.arrayContaining(['main']),
      });
  }, 90_000);

  it('refuses the Control UI without a device at once with AUTH (CONTROL_UI_DEVICE_IDENTITY_REQUIRED), without retrying', async () => {
    const out = await tp.page.evaluate(
      async ([url, token]) => {
        const { GatewayClient } = (window as unknown as PageWindow).lib.ws;
        const client = new GatewayClient({
          url,
          token,
          client: { id: 'openclaw-control-ui', mode: 'ui' },
          reconnect: { minDelay: 5, maxDelay: 10 },
        });
        const states: string[] = [];
        client.onState((s) => states.push(s));
        const err = await client.start().then(
          () => null,
          (e: any) => ({ code: e.code, details: e.details }),
        );
        await new Promise((r) => setTimeout(r, 300));
        client.close();
        return { err, states };
      },
      [gw.url, TOKEN] as const,
    );
    expect(out.err?.code).toBe('AUTH');
    expect(out.err?.details).toMatchObject({ details: { code: 'CONTROL_UI_DEVICE_IDENTITY_REQUIRED' } });
    expect(out.states).toEqual(['closed']);
  });

  it('receives tick events as a handler and an iterator, with seq numbers and no gap', async () => {
    const out = await tp.page.evaluate(
      async ([url, token]) => {
        const { GatewayClient } = (window as unknown as PageWindow).lib.ws;
        const client = await GatewayClient.connect({ url, token, connectTimeout: 60_000 });
        const seqs: number[] = [];
        const gaps: unknown[] = [];
        client.onEventFrame((f) => {
          if (f.event === 'tick' && typeof f.seq === 'number') seqs.push(f.seq);
        });
        client.onGap((g) => gaps.push(g));
        let handled = 0;
        client.on('tick', () => handled++);
        const ticks = client.events<{ ts: number }>('tick');
        const first = await ticks.next();
        await ticks.return?.();
        client.close();
        return { ts: first.value?.ts, handled, seqs, gaps };
      },
      [gw.url, TOKEN] as const,
    );
    expect(out.ts).toEqual(expect.any(Number));
    expect(out.handled).toBe(1);
    expect(out.seqs).toHaveLength(1);
    expect(out.gaps).toEqual([]);
  }, 70_000);

  it('refuses a wrong token at once with AUTH and does not retry', async () => {
    const out = await tp.page.evaluate(
      async ([url]) => {
        const { GatewayClient } = (window as unknown as PageWindow).lib.ws;
        const client = new GatewayClient({ url, token: 'wrong', reconnect: { minDelay: 5, maxDelay: 10 } });
        const states: string[] = [];
        client.onState((s) => states.push(s));
        const err = await client.start().then(
          () => null,
          (e: any) => ({ code: e.code, details: e.details }),
        );
        await new Promise((r) => setTimeout(r, 300));
        const result = {
          err,
          states,
          state: client.state,
          error: client.error?.code,
          retries: client.startupRetries,
        };
        client.close();
        return result;
      },
      [gw.url] as const,
    );
    expect(out.err?.code).toBe('AUTH');
    expect(out.err?.details).toMatchObject({ details: { code: 'AUTH_TOKEN_MISMATCH' } });
    expect(out.states).toEqual(['closed']);
    expect(out.state).toBe('closed');
    expect(out.error).toBe('AUTH');
    expect(out.retries).toBe(0);
  }, 60_000);
});

/** Starts `gateway <url> web --port 0` with `env`; resolves with the page's URL and a stopper. */
async function servePage(env: Record<string, string>): Promise<{ url: string; stop: () => Promise<number> }> {
  const out: string[] = [];
  const err: string[] = [];
  const abort = new AbortController();
  const done = runGatewayCommand([gw.url, 'web', '--port', '0'], {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env,
    signal: abort.signal,
  });
  for (let i = 0; i < 500 && out.length === 0 && err.length === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  const url = /at (http:\S+)/.exec(out.join(''))?.[1];
  if (!url) throw new Error(`gateway web did not start: ${err.join('')}`);
  return {
    url,
    stop: async () => {
      abort.abort();
      return done;
    },
  };
}

/** The status of a GET with the given Host header. */
const statusWithHost = (url: string, host: string): Promise<number | undefined> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });

describe('the live gateway page (`openclaw-ipc gateway <url> web`) in Chromium', () => {
  it('shows the connection open, the agents with their sessions, presence and tick events as they arrive', async () => {
    const web = await servePage({ OPENCLAW_GATEWAY_TOKEN: TOKEN });
    const context = await (await launchChromium()).newContext({ viewport: { width: 1100, height: 700 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(web.url);
      // The token came inside the page, not in its URL.
      expect(page.url()).not.toContain(TOKEN);
      await page.waitForSelector('#state[data-state="open"]', { timeout: 60_000 });
      await page.waitForSelector('#agents li[data-agent-id="main"]', { timeout: 20_000 });
      await page.waitForSelector('#events li[data-event="tick"]', { timeout: 70_000 });
      expect(await page.locator('#protocol').textContent()).toBe('4');
      expect(await page.locator('#conn').textContent()).toMatch(/^[0-9a-f-]{36}$/);
      expect(await page.locator('#presence li').count()).toBeGreaterThan(0);
      expect(await page.locator('#sessions-total').textContent()).toMatch(/^\d+ session\(s\)/);
      expect(errors).toEqual([]);
      if (process.env.OPENCLAW_IPC_SCREENSHOT)
        await page.screenshot({ path: process.env.OPENCLAW_IPC_SCREENSHOT });
      // Another Host (a DNS-rebinding page) is refused.
      expect(await statusWithHost(web.url, 'evil.example')).toBe(403);
      expect(await statusWithHost(web.url, new URL(web.url).host)).toBe(200);
    } finally {
      await context.close();
      expect(await web.stop()).toBe(0);
    }
  }, 150_000);

  it('without a token from the server, asks for it in the page; a wrong one is shown as AUTH', async () => {
    const web = await servePage({});
    const context = await (await launchChromium()).newContext();
    try {
      const page = await context.newPage();
      await page.goto(web.url);
      await page.waitForSelector('#login:not([hidden])');
      await page.fill('#token', 'wrong');
      await page.click('#login button');
      await page.waitForSelector('#state[data-state="closed"]', { timeout: 30_000 });
      expect(await page.locator('#error').textContent()).toMatch(/^AUTH: /);
      await page.waitForSelector('#login:not([hidden])');
      await page.fill('#token', TOKEN);
      await page.click('#login button');
      await page.waitForSelector('#state[data-state="open"]', { timeout: 60_000 });
      await page.waitForSelector('#agents li[data-agent-id="main"]', { timeout: 20_000 });
    } finally {
      await context.close();
      expect(await web.stop()).toBe(0);
    }
  }, 120_000);
});
