import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.package.js';

// The library as every package builds it, plus the command line and the demo (ESM only).
export default defineConfig([
  libraryBuild,
  { entry: ['src/cli.ts', 'src/demo.ts'], format: ['esm'], sourcemap: true, shims: true, target: 'node20' },
]);
