// The installed command line: `npx openclaw-ipc serve <url>` in the background and
// `npx openclaw-ipc call <url> echo '{"hi":1}'` against it, under this process' Node and each
// extra major (first on PATH, so npx and the bin script run under it).
import { afterAll, describe, expect, it } from 'vitest';
import { type BackgroundProcess, describeRun, startBackground } from './child-process.js';
import { consumer, runNpx, type Scheme, urlFor } from './consumer.js';
import { consumerEnv } from './consumer-project.js';

const servers: BackgroundProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

// A scheme of plain JavaScript and one of each addon.
const CLI_SCHEMES: Scheme[] = ['unix', 'nng+ipc', 'rdma+shm'];

for (const node of consumer().nodes) {
  describe(`npx openclaw-ipc under ${node.label}`, () => {
    for (const scheme of CLI_SCHEMES) {
      it(`serve ${scheme}: call echo '{"hi":1}' prints {"hi":1} and exits 0`, async () => {
        const url = await urlFor(scheme);
        const server = await startBackground('npx', ['--no', 'openclaw-ipc', 'serve', url], {
          cwd: consumer().dir,
          env: consumerEnv(node.bin),
          timeoutMs: 30_000,
          ready: /^listening on /m,
        });
        servers.push(server);
        try {
          const r = await runNpx(node, ['--no', 'openclaw-ipc', 'call', url, 'echo', '{"hi":1}']);
          expect(r.code, describeRun(`call ${url}`, r)).toBe(0);
          expect(JSON.parse(r.stdout)).toEqual({ hi: 1 });
        } finally {
          await server.stop();
        }
      });
    }
  });
}
