#!/usr/bin/env node
// Installs the real OpenClaw gateway for the ws package's tests, idempotently:
//   Node 24             from scripts/node-major.mjs (.cache/node24: openclaw needs Node >= 24)
//   <cache>/openclaw    npm package openclaw@2026.9.6
// The cache folder is packages/ws/.cache/gateway (ignored by git) unless OPENCLAW_GATEWAY_CACHE
// names another. Install scripts are not run (--ignore-scripts): openclaw's only check the Node
// version and prune files, and the gateway runs without them.
// Usage: node packages/ws/scripts/install-gateway.mjs   (prints the paths as JSON)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBinary } from '../../../scripts/node-major.mjs';

export const OPENCLAW_VERSION = '2026.9.6';
const here = dirname(fileURLToPath(import.meta.url));

/** Where the gateway lives (its Node is the repository's Node 24, see installGateway). */
export function gatewayPaths(
  cache = process.env.OPENCLAW_GATEWAY_CACHE ?? join(here, '..', '.cache', 'gateway'),
) {
  return {
    cache,
    openclaw: join(cache, 'openclaw', 'node_modules', 'openclaw', 'openclaw.mjs'),
    packageJson: join(cache, 'openclaw', 'node_modules', 'openclaw', 'package.json'),
  };
}

function npmInstall(prefix, spec) {
  mkdirSync(prefix, { recursive: true });
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      '--engine-strict=false',
      spec,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** Installs what is missing and returns the paths. */
export function installGateway(cache) {
  const paths = { ...gatewayPaths(cache), node: nodeBinary(24) };
  const installed = existsSync(paths.packageJson)
    ? JSON.parse(readFileSync(paths.packageJson, 'utf8')).version
    : undefined;
  if (installed !== OPENCLAW_VERSION || !existsSync(paths.openclaw))
    npmInstall(join(paths.cache, 'openclaw'), `openclaw@${OPENCLAW_VERSION}`);
  return paths;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(installGateway(), null, 2));
}
