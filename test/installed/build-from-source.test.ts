// The build command each native package carries, for a platform without a prebuild:
// `npx openclaw-ipc-build-nng` (against the system's libnng) and `npx openclaw-ipc-build-rdma`,
// run in a copy of the consumer project (the other test files keep loading the prebuilds). The
// packages then load build/Release/ before their prebuilds, as node-gyp-build does, unless
// PREBUILDS_ONLY is set.
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRun, run } from './child-process.js';
import { consumer } from './consumer.js';
import { consumerEnv, repoRoot } from './consumer-project.js';

let dir: string;
const env = (extra: NodeJS.ProcessEnv = {}) => consumerEnv(process.execPath, extra);
const fixture = join(repoRoot, 'test', 'installed', 'fixtures', 'addon-roundtrip.mjs');

beforeAll(() => {
  dir = mkdtempSync(join(consumer().base, 'from-source-'));
  // verbatimSymlinks: node_modules/.bin links stay relative, inside the copy.
  cpSync(consumer().dir, dir, { recursive: true, verbatimSymlinks: true });
  cpSync(fixture, join(dir, 'addon-roundtrip.mjs'));
}, 60_000);

const roundTrip = async (extra: NodeJS.ProcessEnv = {}) => {
  const r = await run(process.execPath, ['addon-roundtrip.mjs'], {
    cwd: dir,
    env: env(extra),
    timeoutMs: 30_000,
  });
  expect(r.code, describeRun('addon-roundtrip.mjs', r)).toBe(0);
  const [first, ...rest] = r.stdout.trim().split('\n');
  return { loaded: JSON.parse(first!) as { nng: string; verbs: string }, lines: rest };
};

describe('the build commands of the native packages', () => {
  it('npx openclaw-ipc-build-nng and -rdma build into build/Release, which the packages then load', async () => {
    for (const bin of ['openclaw-ipc-build-nng', 'openclaw-ipc-build-rdma']) {
      const r = await run('npx', ['--no', bin], { cwd: dir, env: env(), timeoutMs: 120_000 });
      expect(r.code, describeRun(bin, r)).toBe(0);
    }
    const nng = join(dir, 'node_modules', '@openclaw-ipc', 'nng', 'build', 'Release', 'nng.node');
    const verbs = join(dir, 'node_modules', '@openclaw-ipc', 'rdma', 'build', 'Release', 'verbs.node');
    expect(existsSync(nng) && existsSync(verbs)).toBe(true);

    const built = await roundTrip();
    expect(built.loaded).toEqual({ nng, verbs });
    expect(built.lines).toEqual(['nng 42', `rdma ${1 << 20}`]);

    const prebuilt = await roundTrip({ PREBUILDS_ONLY: '1' });
    expect(prebuilt.loaded.nng).toMatch(/\/prebuilds\/linux-x64\/nng\.napi\.glibc\.node$/);
    expect(prebuilt.loaded.verbs).toMatch(/\/prebuilds\/linux-x64\/verbs\.napi\.glibc\.node$/);
    expect(prebuilt.lines).toEqual(['nng 42', `rdma ${1 << 20}`]);
  }, 300_000);
});
