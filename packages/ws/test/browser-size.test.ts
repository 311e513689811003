// The size of a page that uses the browser build, minified and gzipped (esbuild, gzip -9), within
// its budget; beside it the browser bundles of rpc-websockets and json-rpc-2.0, bundled the same
// way (docs/browser.md shows the table this prints).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

/** Minified and gzipped bytes of a page whose script is `source` (resolved from test/browser/). */
async function pageSize(source: string): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    stdin: { contents: source, resolveDir: join(here, 'browser'), loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['browser', '@openclaw-ipc/source'],
    write: false,
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0]!.contents;
  return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}

const KB = 1024;
const pages = {
  connectWsClient: `import { connectWsClient } from '@openclaw-ipc/ws';
    const c = await connectWsClient('ws://127.0.0.1:1/'); console.log(await c.request('echo', 1));`,
  GatewayClient: `import { GatewayClient } from '@openclaw-ipc/ws';
    const g = await GatewayClient.connect({ url: 'ws://127.0.0.1:18789', token: 't', device: { keyName: 'default' } });
    console.log(await g.sync());`,
  'rpc-websockets Client': `import { Client } from 'rpc-websockets';
    const c = new Client('ws://127.0.0.1:1/'); c.on('open', async () => console.log(await c.call('echo', [1])));`,
  'json-rpc-2.0 JSONRPCClient': `import { JSONRPCClient } from 'json-rpc-2.0';
    const ws = new WebSocket('ws://127.0.0.1:1/');
    const c = new JSONRPCClient((r) => ws.send(JSON.stringify(r)));
    ws.onmessage = (e) => c.receive(JSON.parse(e.data));
    ws.onopen = async () => console.log(await c.request('echo', [1]));`,
} as const;

describe('browser bundle sizes (esbuild --minify, gzip -9)', () => {
  it('a page with connectWsClient stays under 16 KB, one with GatewayClient (and its device identity) under 25 KB', async () => {
    const sizes: Record<string, { minified: number; gzipped: number }> = {};
    for (const [name, source] of Object.entries(pages)) sizes[name] = await pageSize(source);
    console.log(
      Object.entries(sizes)
        .map(
          ([name, s]) =>
            `| ${name} | ${(s.minified / KB).toFixed(1)} KB | ${(s.gzipped / KB).toFixed(1)} KB |`,
        )
        .join('\n'),
    );
    expect(sizes.connectWsClient!.gzipped).toBeLessThan(16 * KB);
    expect(sizes.GatewayClient!.gzipped).toBeLessThan(25 * KB);
    // The peers bundled too (a failed bundle would have thrown): the comparison is real.
    expect(sizes['rpc-websockets Client']!.gzipped).toBeGreaterThan(0);
    expect(sizes['json-rpc-2.0 JSONRPCClient']!.gzipped).toBeGreaterThan(0);
  });

  it('the browser build bundles without Node: no node: import, no ws package, no msgpackr', async () => {
    const result = await build({
      stdin: {
        contents: `export * from '@openclaw-ipc/ws';`,
        resolveDir: join(here, 'browser'),
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['browser', '@openclaw-ipc/source'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.some((p) => p.includes('packages/ws/src/browser.ts'))).toBe(true);
    expect(inputs.some((p) => p.includes('packages/core/src/browser.ts'))).toBe(true);
    expect(inputs.filter((p) => /node_modules\/(ws|msgpackr)\/|^node:/.test(p))).toEqual([]);
    expect(
      inputs.filter((p) => /ws-listener|native-addon|endpoint-access|gateway\/device\.ts/.test(p)),
    ).toEqual([]);
  });
});
