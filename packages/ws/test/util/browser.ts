/**
 * Real Chromium for the browser-build tests: Debian's `chromium` (scripts/setup.mjs installs it)
 * driven by playwright-core, which downloads nothing. A page is served from a loopback HTTP
 * server; its script is bundled by esbuild from the browser build (export condition `browser`,
 * from the sources), so a `node:` import anywhere in it fails the bundle.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** Debian's Chromium (the `chromium` package), or CHROMIUM_PATH. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error('Chromium not found: install the Debian package `chromium` (npm run setup)');
  return found;
}

/** Bundles `entry` (a file under test/browser/) for the browser, from the sources, unminified. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(here, '..', 'browser', entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['browser', '@openclaw-ipc/source'],
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export interface TestPage {
  page: Page;
  /** The page's origin (http://127.0.0.1:<port>), to list in a server's allowedOrigins. */
  origin: string;
  close(): Promise<void>;
}

let browser: Browser | undefined;

/** The shared headless Chromium of this test file (launched on first use). */
export async function launchChromium(): Promise<Browser> {
  browser ??= await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Chromium's sandbox refuses to run as root (CI runs as root).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  return browser;
}

export async function closeChromium(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

/**
 * Serves a page whose module script is `script` (plus `extra` files by path) on loopback and
 * opens it in a fresh browser context; resolves once the script has set `window.ready`.
 */
export async function openPage(
  script: string,
  extra: Record<string, { type: string; body: string | Buffer }> = {},
): Promise<TestPage> {
  const files: Record<string, { type: string; body: string | Buffer }> = {
    '/': {
      type: 'text/html; charset=utf-8',
      body: '<!doctype html><meta charset="utf-8"><title>test</title><script type="module" src="/page.js"></script>',
    },
    '/page.js': { type: 'text/javascript; charset=utf-8', body: script },
    ...extra,
  };
  const http: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const context = await (await launchChromium()).newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(origin);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, {
    timeout: 20_000,
  });
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  return {
    page,
    origin,
    async close() {
      await context.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
