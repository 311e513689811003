// The Node build (src/index.ts), the browser build (src/browser.ts, export condition `browser`),
// and the live gateway page (examples/web, served by `openclaw-ipc gateway <url> web`) copied
// into dist/web so that the package carries it.
import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.package.js';

export default defineConfig({
  ...libraryBuild,
  entry: ['src/index.ts', 'src/browser.ts'],
  onSuccess: async () => {
    cpSync('../../examples/web', 'dist/web', { recursive: true });
  },
});
