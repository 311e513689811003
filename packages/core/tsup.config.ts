// The Node build (src/index.ts) and the browser build (src/browser.ts, export condition `browser`).
import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.package.js';

export default defineConfig({ ...libraryBuild, entry: ['src/index.ts', 'src/browser.ts'] });
