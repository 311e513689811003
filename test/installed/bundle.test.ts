// A consumer app bundled with esbuild (installed in the consumer project from the registry), with
// the packages that load a native addon kept external, and run from the consumer project.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun } from './child-process.js';
import { consumer, freePort, runNode, scratchDir } from './consumer.js';
import { tenLinesTs } from './readme-example.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/**
 * The flags docs/packaging.md gives. nng and rdma stay external because they find their addon
 * from their own package folder; core stays external because they import it: bundled, the app
 * would hold a second copy of core, whose IpcError is not the class their errors are made of.
 * The banner gives the ES module bundle a `require` for the CommonJS dependencies it contains
 * (ws, proper-lockfile), which require Node's built-in modules.
 */
const ESBUILD_FLAGS = [
  '--bundle',
  '--platform=node',
  '--format=esm',
  '--external:@openclaw-ipc/core',
  '--external:@openclaw-ipc/nng',
  '--external:@openclaw-ipc/rdma',
  "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
];

const out = (name: string) => join(consumer().dir, 'bundle', name);

async function bundle(entry: string, output: string): Promise<void> {
  const r = await runNode(
    consumer().nodes[0]!,
    [
      'node_modules/esbuild/bin/esbuild',
      entry,
      ...ESBUILD_FLAGS,
      `--outfile=${output}`,
      `--metafile=${output}.meta.json`,
      '--log-level=warning',
    ],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0 || r.stderr) throw new Error(describeRun(`esbuild ${entry}`, r));
}

beforeAll(async () => {
  const dir = consumer().dir;
  mkdirSync(join(dir, 'bundle'), { recursive: true });
  writeFileSync(join(dir, 'bundle-app.ts'), tenLinesTs());
  copyFileSync(join(fixtures, 'bundle-errors.ts'), join(dir, 'bundle-errors.ts'));
  await bundle('bundle-app.ts', out('app.mjs'));
  await bundle('bundle-errors.ts', out('errors.mjs'));
});

describe('the README example bundled with esbuild', () => {
  it('holds openclaw-ipc, unix, ws and file, and imports core, nng and rdma from node_modules', () => {
    const meta = JSON.parse(readFileSync(`${out('app.mjs')}.meta.json`, 'utf8')) as {
      inputs: Record<string, unknown>;
      outputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
    };
    const bundled = new Set(
      Object.keys(meta.inputs)
        .map((p) => /node_modules\/((?:@openclaw-ipc\/)?[^/]+)\//.exec(p)?.[1])
        .filter((p) => p?.includes('openclaw-ipc')),
    );
    expect([...bundled].sort()).toEqual([
      '@openclaw-ipc/file',
      '@openclaw-ipc/unix',
      '@openclaw-ipc/ws',
      'openclaw-ipc',
    ]);
    const externals = Object.values(meta.outputs)
      .flatMap((o) => o.imports)
      .filter((i) => i.external && i.path.includes('openclaw-ipc'))
      .map((i) => i.path);
    expect([...new Set(externals)].sort()).toEqual([
      '@openclaw-ipc/core',
      '@openclaw-ipc/nng',
      '@openclaw-ipc/rdma',
    ]);
  });

  for (const scheme of ['unix', 'nng+ipc'] as const) {
    it(`runs over ${scheme}: prints 5 and exits 0`, async () => {
      const url = `${scheme}://${join(scratchDir(), scheme === 'unix' ? 'u.sock' : 'n.ipc')}`;
      const r = await runNode(consumer().nodes[0]!, [out('app.mjs'), url]);
      expect(r.stdout, describeRun(`bundle/app.mjs ${url}`, r)).toBe('5\n');
      expect(r.code).toBe(0);
    });
  }

  it('errors raised inside the external nng and rdma packages are instances of the IpcError the bundle imports', async () => {
    const urls = [
      `nng+tcp://127.0.0.1:${await freePort()}`,
      `rdma+shm://${join(scratchDir(), 'nobody.sock')}`,
    ];
    const r = await runNode(consumer().nodes[0]!, [out('errors.mjs'), ...urls]);
    expect(r.code, describeRun('bundle/errors.mjs', r)).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, { code: string; isIpcError: boolean }>;
    for (const url of urls) {
      expect(report[url]?.isIpcError, `${url}: ${JSON.stringify(report[url])}`).toBe(true);
      expect(['CONNECT', 'UNAVAILABLE']).toContain(report[url]?.code);
    }
  });
});

describe('a page bundled with esbuild for the browser (export condition `browser`)', () => {
  it('takes the browser builds of ws and core from the packed packages: no ws package, no node: import', async () => {
    const dir = consumer().dir;
    writeFileSync(
      join(dir, 'browser-page.ts'),
      "import { connectWsClient, GatewayClient } from '@openclaw-ipc/ws';\n" +
        'console.log(typeof connectWsClient, typeof GatewayClient);\n',
    );
    const output = out('browser-page.js');
    const r = await runNode(
      consumer().nodes[0]!,
      [
        'node_modules/esbuild/bin/esbuild',
        'browser-page.ts',
        '--bundle',
        '--platform=browser',
        '--format=esm',
        `--outfile=${output}`,
        `--metafile=${output}.meta.json`,
        '--log-level=warning',
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code, describeRun('esbuild browser-page.ts', r)).toBe(0);
    const inputs = Object.keys(
      (JSON.parse(readFileSync(`${output}.meta.json`, 'utf8')) as { inputs: Record<string, unknown> }).inputs,
    );
    expect(inputs).toContain('node_modules/@openclaw-ipc/ws/dist/browser.js');
    expect(inputs).toContain('node_modules/@openclaw-ipc/core/dist/browser.js');
    expect(inputs.filter((p) => /node_modules\/(ws|msgpackr)\/|^node:|dist\/index\.js/.test(p))).toEqual([]);
  });
});
