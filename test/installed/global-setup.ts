/**
 * Runs once before the installed-package tests: brings the builds up to date, packs and installs
 * the consumer project (once for every Node version), installs the extra Node majors (cached under
 * .cache/node<major>/), and removes the consumer project afterwards.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  type ConsumerProject,
  consumerBase,
  consumerNodes,
  createConsumerProject,
  removeStaleConsumerProjects,
  repoRoot,
} from './consumer-project.js';

export default function setup(project: TestProject): () => void {
  const started = Date.now();
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'setup.mjs'), '--quiet'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  removeStaleConsumerProjects();
  const base = consumerBase();
  let consumer: ConsumerProject;
  try {
    consumer = { ...createConsumerProject(base), nodes: consumerNodes() };
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  project.provide('consumer', consumer);
  process.stderr.write(
    `[installed] packed ${consumer.tarballs.length} packages and installed them in ${consumer.dir} ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s; programs run under ${consumer.nodes.map((n) => n.label).join(', ')}\n`,
  );
  const remove = () => rmSync(base, { recursive: true, force: true });
  // The teardown; also on exit, for runs that end without it. A run ended by a crashed worker
  // skips both: removeStaleConsumerProjects() clears what such runs left, a day later.
  process.once('exit', remove);
  return remove;
}
