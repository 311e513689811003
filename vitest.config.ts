// Vitest reads its projects from vitest.workspace.ts, the single list of test projects.
import { defineConfig } from 'vitest/config';
import projects from './vitest.workspace.js';

export default defineConfig({ test: { projects } });
