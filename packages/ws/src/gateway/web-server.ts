/**
 * Serves the live gateway page (examples/web: index.html, app.js, style.css) on loopback, with
 * the browser builds of @openclaw-ipc/ws and core as ES modules under /_m/ (an import map in the
 * page names them). The gateway URL and, when given, the token reach the page inside the HTML
 * it is served (never in a URL); without a token the page asks for one.
 *
 * Safe by default: it binds 127.0.0.1 only, answers only requests whose Host is that address or
 * `localhost` on its port (a DNS-rebinding page gets 403), serves only the files listed here
 * and `.js` files of the two dist folders, and sends `no-store` and `nosniff`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IpcError } from '@openclaw-ipc/core';

export interface GatewayWebOptions {
  /** The gateway the page connects to (ws:// or wss://). */
  gatewayUrl: string;
  /** Handed to the page inside its HTML; without it the page asks for the token. */
  token?: string;
  /** Port on 127.0.0.1; 0 (default): one the OS picks. */
  port?: number;
}

export interface GatewayWebServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The folder of the page: dist/web beside the built module, else examples/web of the repository. */
export function gatewayWebRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'web'), join(here, '..', '..', '..', '..', 'examples', 'web')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found)
    throw new IpcError('UNAVAILABLE', `the gateway page is missing (looked in ${candidates.join(', ')})`);
  return found;
}

/** The dist folder of a package, holding its browser build. */
function distOf(pkg: '@openclaw-ipc/core' | '@openclaw-ipc/ws'): string {
  const dist = join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'dist');
  if (!existsSync(join(dist, 'browser.js')))
    throw new IpcError('UNAVAILABLE', `${pkg} has no browser build at ${dist} (npm run build)`);
  return dist;
}

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

/**
 * Starts the page's server. Resolves once it listens.
 * @throws IpcError INVALID_ARGUMENT for a gateway URL that is not ws: or wss:, UNAVAILABLE when
 *   the page or a browser build is missing or the port cannot be bound.
 */
export async function serveGatewayWeb(options: GatewayWebOptions): Promise<GatewayWebServer> {
  if (!/^wss?:\/\//.test(options.gatewayUrl))
    throw new IpcError('INVALID_ARGUMENT', `not a ws:// or wss:// URL: ${options.gatewayUrl}`);
  const root = gatewayWebRoot();
  const modules = { core: distOf('@openclaw-ipc/core'), ws: distOf('@openclaw-ipc/ws') };
  const importMap = {
    imports: { '@openclaw-ipc/core': '/_m/core/browser.js', '@openclaw-ipc/ws': '/_m/ws/browser.js' },
  };
  const config = { url: options.gatewayUrl, ...(options.token ? { token: options.token } : {}) };
  const html = readFileSync(join(root, 'index.html'), 'utf8').replace(
    '<!-- openclaw-ipc:head -->',
    `<script type="importmap">${scriptJson(importMap)}</script>\n` +
      `<script type="application/json" id="config">${scriptJson(config)}</script>`,
  );
  let port = 0;
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) =>
    res
      .writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      })
      .end(body);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`)
      return send(res, 403, TYPES['.html']!, 'forbidden');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, TYPES['.html']!, 'method not allowed');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/' || path === '/index.html') return send(res, 200, TYPES['.html']!, html);
    if (path === '/app.js' || path === '/style.css')
      return send(
        res,
        200,
        TYPES[path.slice(path.lastIndexOf('.'))]!,
        readFileSync(join(root, path.slice(1))),
      );
    const m = /^\/_m\/(core|ws)\/([\w.-]+\.js(?:\.map)?)$/.exec(path);
    if (m) {
      const file = join(modules[m[1] as 'core' | 'ws'], m[2]!);
      if (existsSync(file))
        return send(res, 200, TYPES[file.endsWith('.map') ? '.map' : '.js']!, readFileSync(file));
    }
    send(res, 404, TYPES['.html']!, 'not found');
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) send(res, 500, TYPES['.html']!, 'error');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(new IpcError('UNAVAILABLE', `cannot listen on 127.0.0.1:${options.port ?? 0}`, { cause })),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
