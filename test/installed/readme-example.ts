/**
 * The README's "Ten lines" example as programs of the consumer project: the code block taken from
 * README.md as it is, with its URL replaced by the program's first argument, as TypeScript, as an
 * ES module (.mjs) and as CommonJS (.cjs; its top-level awaits inside an async function). Types
 * are removed with TypeScript's transpileModule, nothing else is changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './consumer-project.js';

/** The URL the README's example uses; the programs take theirs from argv[2] instead. */
export const README_URL = 'unix:///tmp/demo.sock';

/** The code block under "## Ten lines" in README.md. */
export function readmeTenLines(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## Ten lines$/m)[1];
  const block = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```ts block under "## Ten lines"');
  return block;
}

function split(): { imports: string; body: string } {
  const lines = readmeTenLines().split('\n');
  const imports = lines.filter((l) => l.startsWith('import ')).join('\n');
  const body = lines.filter((l) => !l.startsWith('import ')).join('\n');
  const uses = body.split(`'${README_URL}'`).length - 1;
  if (uses < 2) throw new Error(`the README's example no longer connects and listens on '${README_URL}'`);
  return { imports, body: body.replaceAll(`'${README_URL}'`, 'url') };
}

const urlLine = `const url: string = process.argv[2] ?? '${README_URL}';`;

/** The example as a TypeScript ES module. */
export function tenLinesTs(): string {
  const { imports, body } = split();
  return `${imports}\n\n${urlLine}\n${body}`;
}

/** The example as an ES module (.mjs). */
export function tenLinesEsm(): string {
  return ts.transpileModule(tenLinesTs(), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/** The example as CommonJS (.cjs): require() of the package, the rest in an async function. */
export function tenLinesCjs(): string {
  const { imports, body } = split();
  const source = `${imports}\n\n(async () => {\n${urlLine}\n${body}\n})();\n`;
  return ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
}
