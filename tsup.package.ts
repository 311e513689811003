// The build of every library package: ESM + CJS + .d.ts from src/index.ts, for Node 20 and later.
import { defineConfig, type Options } from 'tsup';

export const libraryBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { composite: false, incremental: false } },
  sourcemap: true,
  clean: true,
  shims: true,
  target: 'node20',
};

export default defineConfig(libraryBuild);
