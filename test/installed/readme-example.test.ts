// The README's "Ten lines" example, run from the consumer project over every scheme, as an ES module
// and as CommonJS, under this process' Node and each extra major: it prints 5 and exits by itself.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun } from './child-process.js';
import { consumer, runNode, SCHEMES, urlFor } from './consumer.js';
import { tenLinesCjs, tenLinesEsm } from './readme-example.js';

const programs = { ESM: 'readme-ten-lines.mjs', CJS: 'readme-ten-lines.cjs' } as const;

beforeAll(() => {
  writeFileSync(join(consumer().dir, programs.ESM), tenLinesEsm());
  writeFileSync(join(consumer().dir, programs.CJS), tenLinesCjs());
});

for (const node of consumer().nodes) {
  for (const format of ['ESM', 'CJS'] as const) {
    describe.concurrent(`the README example as ${format} under ${node.label}`, () => {
      for (const scheme of SCHEMES) {
        it(`over ${scheme}: prints 5 and exits 0 by itself`, async () => {
          const url = await urlFor(scheme);
          const r = await runNode(node, [programs[format], url]);
          expect(r.stdout, describeRun(`${programs[format]} ${url}`, r)).toBe('5\n');
          expect(r.code, describeRun(`${programs[format]} ${url}`, r)).toBe(0);
        });
      }
    });
  }
}
