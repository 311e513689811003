// The browser build (export condition `browser`) in real Chromium, against our Node ws server.
// The page is bundled from the sources by esbuild; the server allows the page's origin through
// allowedOrigins (the documented path: it refuses other origins).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWsServer, forgeDialect, type WsServer, type WsServerOptions } from '../src/index.js';
import { bundleForBrowser, closeChromium, openPage, type TestPage } from './util/browser.js';
import { onCleanup } from './util/raw.js';

/** What the page sees: `window.lib` (the browser builds) and what the tests keep on `window`. */
type PageWindow = { lib: { ws: typeof import('../src/browser.js') }; [key: string]: any };

let script: string;
let tp: TestPage;

beforeAll(async () => {
  script = await bundleForBrowser('lib.ts');
  tp = await openPage(script);
}, 60_000);
afterAll(async () => {
  await tp?.close();
  await closeChromium();
});

async function startServer(options: WsServerOptions = {}): Promise<WsServer> {
  const ws = await createWsServer({ heartbeatInterval: 0, allowedOrigins: [tp.origin], ...options });
  onCleanup(() => ws.server.close());
  ws.server.handle('echo', (p) => p);
  ws.server.handle('slow', async (p: any) => {
    await new Promise((r) => setTimeout(r, p.ms));
    return p.n;
  });
  return ws;
}

/** Polls `check` (sync or async) until it is true; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `fn` in the page with `arg`; page-side errors come back as `{ code, message }`. */
const inPage = <A, R>(fn: (arg: A) => Promise<R> | R, arg: A): Promise<R> =>
  tp.page.evaluate(fn as never, arg as never) as Promise<R>;

describe('browser build in Chromium against the Node ws server', () => {
  it('is the browser build: the platform WebSocket link, no Node server exports', async () => {
    const exports = await inPage(() => Object.keys((window as unknown as PageWindow).lib.ws).sort(), null);
    expect(exports).toEqual(
      expect.arrayContaining(['connectWsClient', 'GatewayClient', 'WebDeviceIdentity']),
    );
    expect(exports).not.toContain('createWsServer');
    expect(exports).not.toContain('WsListener');
    expect(exports).not.toContain('DeviceIdentity');
  });

  it('calls methods (one, and twenty at once answered out of order), notifies, gets events as handlers and iterators', async () => {
    const { server, address } = await startServer();
    const notes: unknown[] = [];
    server.on('note', (p) => {
      notes.push(p);
    });
    const first = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      const client = await w.lib.ws.connectWsClient(url);
      w.client = client;
      w.handled = [];
      client.on('news', (d: unknown) => w.handled.push(d));
      w.stream = client.events('news');
      const echo = await client.request('echo', { text: 'héllo', n: [1, 2, 3] });
      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.request('slow', { ms: (20 - i) * 3, n: i })),
      );
      await client.notify('note', { from: 'browser' });
      return { echo, burst, state: client.state };
    }, address);
    expect(first.echo).toEqual({ text: 'héllo', n: [1, 2, 3] });
    expect(first.burst).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(first.state).toBe('open');
    await until(() => notes.length === 1, 5000);
    expect(notes[0]).toEqual({ from: 'browser' });
    await until(() => server.connections.size === 1, 5000);
    server.emit('news', { headline: 'one' });
    server.emit('news', { headline: 'two' });
    const seen = await inPage(async () => {
      const w = window as unknown as PageWindow;
      const a = await w.stream.next();
      const b = await w.stream.next();
      await w.stream.return();
      w.client.close();
      return { iterated: [a.value, b.value], handled: w.handled };
    }, null);
    expect(seen.iterated).toEqual([{ headline: 'one' }, { headline: 'two' }]);
    expect(seen.handled).toEqual([{ headline: 'one' }, { headline: 'two' }]);
  });

  it('client.batch(): requests and a notification as one JSON-RPC array frame, results in order', async () => {
    const { server, address } = await startServer();
    const notes: unknown[] = [];
    server.on('note', (p) => {
      notes.push(p);
    });
    const settled = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      const client = await w.lib.ws.connectWsClient(url);
      const results = await client.batch([
        { method: 'slow', params: { ms: 30, n: 1 } },
        { method: 'note', params: { from: 'batch' }, notify: true },
        { method: 'echo', params: ['b'] },
        { method: 'missing' },
      ]);
      client.close();
      return results.map((r: PromiseSettledResult<unknown>) =>
        r.status === 'fulfilled'
          ? { ok: r.value ?? null }
          : {
              code: (r.reason as { code: string }).code,
              remote: (r.reason as { remoteCode?: string }).remoteCode,
            },
      );
    }, address);
    expect(settled).toEqual([
      { ok: 1 },
      { ok: null },
      { ok: ['b'] },
      { code: 'REMOTE', remote: 'METHOD_NOT_FOUND' },
    ]);
    await until(() => notes.length === 1, 5000);
    expect(notes[0]).toEqual({ from: 'batch' });
  });

  it('answers a page’s own JSON-RPC batch (sent on the platform WebSocket) with one array frame', async () => {
    // A page that batches by hand (not through client.batch) is served like any peer.
    const { address } = await startServer();
    const reply = await inPage(
      (url) =>
        new Promise<unknown>((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.onopen = () =>
            ws.send(
              JSON.stringify([
                { jsonrpc: '2.0', method: 'echo', params: ['a'], id: 1 },
                { jsonrpc: '2.0', method: 'echo', params: ['b'] },
                { jsonrpc: '2.0', method: 'slow', params: { ms: 5, n: 7 }, id: 'x' },
              ]),
            );
          ws.onmessage = (e) => {
            resolve(JSON.parse(e.data));
            ws.close();
          };
          ws.onerror = () => reject(new Error('websocket error'));
        }),
      address,
    );
    expect(reply).toEqual([
      { jsonrpc: '2.0', result: ['a'], id: 1 },
      { jsonrpc: '2.0', result: 7, id: 'x' },
    ]);
  });

  it('subscribes and unsubscribes to a topic: published events reach it only while subscribed', async () => {
    const { server, address } = await startServer();
    await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      w.client = await w.lib.ws.connectWsClient(url);
      w.got = [];
      w.client.on('prices', (d: unknown) => w.got.push(d));
      await w.client.subscribe('prices');
    }, address);
    server.publish('prices', { p: 1 });
    await until(
      async () => (await inPage(() => (window as unknown as PageWindow).got.length, null)) === 1,
      5000,
    );
    await inPage(() => (window as unknown as PageWindow).client.unsubscribe('prices'), null);
    server.publish('prices', { p: 2 });
    const got = await inPage(async () => {
      const w = window as unknown as PageWindow;
      await w.client.request('echo', 'flush'); // the server handled the unsubscribe and this
      const out = w.got;
      w.client.close();
      return out;
    }, null);
    expect(got).toEqual([{ p: 1 }]);
  });

  it('speaks the forge dialect too', async () => {
    const { address } = await startServer({ dialect: forgeDialect });
    const result = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      const client = await w.lib.ws.connectWsClient(url, { dialect: 'forge' });
      const r = await client.request('echo', { forge: true });
      client.close();
      return r;
    }, address);
    expect(result).toEqual({ forge: true });
  });

  it('cancels a request by AbortSignal (the server handler’s ctx.signal aborts) and times one out', async () => {
    const { server, address } = await startServer();
    let aborted = 0;
    server.handle('hang', (_p, ctx) => {
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted++;
          reject(new Error('aborted'));
        });
      });
    });
    const out = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      const client = await w.lib.ws.connectWsClient(url);
      const ac = new AbortController();
      const pending = client.request('hang', {}, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      const cancelled = await pending.then(
        () => null,
        (e: any) => ({ code: e.code, name: e.name }),
      );
      const timedOut = await client.request('hang', {}, { timeout: 100 }).then(
        () => null,
        (e: any) => e.code,
      );
      const after = await client.request('echo', 'still open');
      client.close();
      return { cancelled, timedOut, after };
    }, address);
    expect(out.cancelled).toEqual({ code: 'ABORTED', name: 'IpcError' });
    expect(out.timedOut).toBe('TIMEOUT');
    expect(out.after).toBe('still open');
    await until(() => aborted === 2, 5000);
  });

  it('a message over the server’s limit: the server closes 1009, the request rejects CLOSED caused by MESSAGE_TOO_LARGE', async () => {
    const { address } = await startServer({ maxMessageSize: 1024 });
    const out = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      const client = await w.lib.ws.connectWsClient(url, { reconnect: false });
      const states: Array<[string, string | undefined, string | undefined]> = [];
      client.onState((s: string, e?: any) => states.push([s, e?.code, e?.cause?.code]));
      const small = await client.request('echo', 'x'.repeat(900));
      const big = await client.request('echo', 'x'.repeat(4000)).then(
        () => null,
        (e: any) => ({ code: e.code, message: e.message, cause: e.cause?.code }),
      );
      // The client refuses, itself, a message over its own limit (the link stays open).
      const own = await w.lib.ws.connectWsClient(url, { maxMessageSize: 100 });
      const ownBig = await own.request('echo', 'y'.repeat(200)).then(
        () => null,
        (e: any) => e.code,
      );
      const ownAfter = await own.request('echo', 'ok');
      own.close();
      return { small: small.length, big, states, state: client.state, ownBig, ownAfter };
    }, address);
    expect(out.small).toBe(900);
    // The engine rejects what was pending on a lost link CLOSED; the link's reason is the cause.
    expect(out.big).toMatchObject({ code: 'CLOSED', cause: 'MESSAGE_TOO_LARGE' });
    expect(out.big?.message).toContain('1009');
    expect(out.states).toEqual([['closed', 'CLOSED', 'MESSAGE_TOO_LARGE']]);
    expect(out.state).toBe('closed');
    expect(out.ownBig).toBe('MESSAGE_TOO_LARGE');
    expect(out.ownAfter).toBe('ok');
  });

  it('survives a server restart: requests pending at the drop reject CLOSED, it reconnects and resubscribes', async () => {
    const first = await startServer();
    const port = Number(new URL(first.address).port);
    let hung = 0;
    first.server.handle('hang', () => {
      hung++;
      return new Promise(() => {});
    });
    await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      w.client = await w.lib.ws.connectWsClient(url, { reconnect: { minDelay: 50, maxDelay: 200 } });
      w.states = [];
      w.client.onState((s: string) => w.states.push(s));
      w.got = [];
      w.client.on('alerts', (d: unknown) => w.got.push(d));
      await w.client.subscribe('alerts');
      w.pending = w.client.request('hang', {}).then(
        () => 'resolved',
        (e: any) => e.code,
      );
    }, first.address);
    await until(() => hung === 1, 5000);
    await first.server.close();
    const second = await startServer({ port });
    await until(
      async () => (await inPage(() => (window as unknown as PageWindow).client.state, null)) === 'open',
      15_000,
    );
    await until(() => second.server.connections.size === 1, 5000);
    // The subscription is renewed on the new connection: a publish reaches the page.
    await until(async () => {
      second.server.publish('alerts', { n: 1 });
      return (await inPage(() => (window as unknown as PageWindow).got.length, null)) > 0;
    }, 10_000);
    const out = await inPage(async () => {
      const w = window as unknown as PageWindow;
      const pending = await w.pending;
      const echo = await w.client.request('echo', 'again');
      w.client.close();
      return { pending, echo, states: w.states, got: w.got[0] };
    }, null);
    expect(out.pending).toBe('CLOSED');
    expect(out.echo).toBe('again');
    expect(out.states).toContain('reconnecting');
    expect(out.states.at(-1)).toBe('closed');
    expect(out.got).toEqual({ n: 1 });
  });

  it('is refused by a server whose allowedOrigins does not list the page (CONNECT, no upgrade)', async () => {
    const { address } = await startServer({ allowedOrigins: ['https://other.example'] });
    const code = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      return w.lib.ws.connectWsClient(url, { reconnect: false }).then(
        () => 'connected',
        (e: any) => e.code,
      );
    }, address);
    expect(code).toBe('CONNECT');
  });

  it('authenticates with a token in the bearer subprotocol; refuses headers, coalesce and a bad URL as INVALID_ARGUMENT', async () => {
    const { address } = await startServer({ authToken: 's3cret' });
    const out = await inPage(async (url) => {
      const w = window as unknown as PageWindow;
      const client = await w.lib.ws.connectWsClient(url, { token: 's3cret' });
      const echo = await client.request('echo', 'authed');
      // Many in one tick: the server, not offered coalescing by a page, sends each on its own.
      const many = await Promise.all(Array.from({ length: 40 }, (_, i) => client.request('echo', i)));
      client.close();
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: any) => e.code,
        );
      return {
        echo,
        many,
        headers: await code(w.lib.ws.connectWsClient(url, { headers: { a: 'b' } } as never)),
        coalesce: await code(w.lib.ws.connectWsClient(url, { coalesce: true } as never)),
        http: await code(w.lib.ws.connectWsClient('http://127.0.0.1:1/')),
        junk: await code(w.lib.ws.connectWsClient('not a url')),
      };
    }, address);
    expect(out).toEqual({
      echo: 'authed',
      many: Array.from({ length: 40 }, (_, i) => i),
      headers: 'INVALID_ARGUMENT',
      coalesce: 'INVALID_ARGUMENT',
      http: 'INVALID_ARGUMENT',
      junk: 'INVALID_ARGUMENT',
    });
  });
});
