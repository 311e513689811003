// The installed declaration files, as a TypeScript consumer compiles them: strict, with TypeScript's
// default skipLibCheck (false, so every .d.ts of the packages and their type dependencies is
// checked), under module/moduleResolution node16 (ESM and CJS files) and esnext/bundler. The
// TypeScript is the consumer project's own, installed from the registry.
import { copyFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun } from './child-process.js';
import { consumer, runNode } from './consumer.js';
import { tenLinesTs } from './readme-example.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

const configs = {
  'node16 (module node16)': {
    file: 'tsconfig.node16.json',
    compilerOptions: { module: 'node16', moduleResolution: 'node16' },
    files: ['readme-app.ts', 'types-check.ts', 'types-check.cts'],
  },
  'bundler (module esnext)': {
    file: 'tsconfig.bundler.json',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler' },
    files: ['readme-app.ts', 'types-check.ts'],
  },
};

beforeAll(() => {
  const dir = consumer().dir;
  writeFileSync(join(dir, 'readme-app.ts'), tenLinesTs());
  for (const name of ['types-check.ts', 'types-check.cts'])
    copyFileSync(join(fixtures, name), join(dir, name));
  for (const config of Object.values(configs)) {
    const tsconfig = {
      compilerOptions: { strict: true, target: 'es2022', noEmit: true, ...config.compilerOptions },
      files: config.files,
    };
    writeFileSync(join(dir, config.file), `${JSON.stringify(tsconfig, null, 2)}\n`);
  }
});

describe.concurrent('a TypeScript consumer of the installed packages', () => {
  for (const [name, config] of Object.entries(configs)) {
    it(`compiles the README example and every package's types without an error under ${name}`, async () => {
      const node = consumer().nodes[0]!;
      const r = await runNode(node, ['node_modules/typescript/bin/tsc', '-p', config.file], {
        timeoutMs: 110_000,
      });
      expect(r.stdout + r.stderr, describeRun(`tsc -p ${config.file}`, r)).toBe('');
      expect(r.code).toBe(0);
    });
  }
});
