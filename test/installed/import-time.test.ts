// Importing the packages does nothing platform-specific: no addon loaded, no /proc or /sys read,
// no process started by our code until a transport is first used. The addon paths are poisoned
// (OPENCLAW_NNG_ADDON, OPENCLAW_VERBS_ADDON name missing files): every import still succeeds,
// and the addon error appears at the first nng or rdma use, naming the file; unix still works.
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun } from './child-process.js';
import { consumer, runNode, scratchDir, urlFor } from './consumer.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface SpiedCall {
  call: string;
  caller: string;
}
interface ImportReport {
  atImport: SpiedCall[];
  control: SpiedCall[];
  firstUse: Record<string, string>;
}

/** A file of one of our packages in the consumer's node_modules. */
const ours = (file: string) => /node_modules\/(@openclaw-ipc\/[^/]+|openclaw-ipc)\//.test(file);

beforeAll(() => {
  for (const name of ['import-spy.cjs', 'import-all.mjs', 'import-all.cjs'])
    copyFileSync(join(fixtures, name), join(consumer().dir, name));
});

for (const node of consumer().nodes) {
  describe.concurrent(`importing every package under ${node.label}, addon paths poisoned`, () => {
    for (const program of ['import-all.mjs', 'import-all.cjs']) {
      it(`${program}: no addon, /proc, /sys or process use by our packages at import; addon errors at first use`, async () => {
        const missing = scratchDir();
        const urls = {
          unix: await urlFor('unix'),
          nng: await urlFor('nng+ipc'),
          rdma: await urlFor('rdma+shm'),
        };
        const r = await runNode(node, ['--require', './import-spy.cjs', program, ...Object.values(urls)], {
          env: {
            OPENCLAW_NNG_ADDON: join(missing, 'missing-nng.node'),
            OPENCLAW_VERBS_ADDON: join(missing, 'missing-verbs.node'),
          },
        });
        expect(r.code, describeRun(program, r)).toBe(0);
        const report = JSON.parse(r.stdout) as ImportReport;

        expect(report.atImport.filter((c) => ours(c.caller) || ours(c.call))).toEqual([]);
        expect(report.control).toContainEqual({
          call: 'fs.readFileSync /proc/self/stat',
          caller: join(consumer().dir, program),
        });
        expect(report.firstUse[urls.unix]).toBe('listened');
        expect(report.firstUse[urls.nng]).toMatch(/^UNAVAILABLE: .*missing-nng\.node/);
        expect(report.firstUse[urls.rdma]).toMatch(/^UNAVAILABLE: .*missing-verbs\.node/);
      });
    }
  });
}
