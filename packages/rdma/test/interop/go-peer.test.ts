/**
 * A Go peer (vmihailenco/msgpack, golang.org/x/sys/unix, hash/crc32) speaking the sidecar
 * protocol to our engine in MAP and ARRAY encodings: it takes the engine's pid from
 * SO_PEERCRED, reads the session window with process_vm_readv itself, computes CRC32C
 * (Castagnoli) and completes the read; the engine compares the CRCs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../src/index.js';
import { type ChildServer, patterned, startChild, tempDir } from '../helpers.js';
import { buildGoPeer } from './build.js';

const run = promisify(execFile);
const dir = tempDir('oc-rdma-go-');

describe('Go sidecar peer against the rdma+cma engine', () => {
  const path = dir.path('engine.sock');
  let engine: ChildServer;
  let peer: string;
  beforeAll(async () => {
    peer = await buildGoPeer();
    engine = await startChild('engine.ts', [path, '16']);
  }, 300_000);
  afterAll(async () => {
    await engine?.stop();
    dir.remove();
  });

  it.each(['map', 'array'] as const)(
    'reads a 1 MiB needle one-sidedly, CRC32C agreed (%s)',
    async (encoding) => {
      const { stdout } = await run(peer, [path, encoding, '1', '42']);
      const r = JSON.parse(stdout) as Record<string, unknown>;
      expect(r).toMatchObject({
        pid: engine.child.pid,
        transfer_size: 1024 * 1024,
        client_crc: crc32c(patterned(1024 * 1024)),
        expected_crc: crc32c(patterned(1024 * 1024)),
        server_crc: crc32c(patterned(1024 * 1024)),
        complete_success: true,
        max_sessions: 16,
      });
    },
  );

  it.each(['map', 'array'] as const)('reads a needle whose id is above 2^53 (%s)', async (encoding) => {
    const { stdout } = await run(peer, [path, encoding, '7', String(2n ** 60n), '1000']);
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(r).toMatchObject({
      transfer_size: 1000,
      client_crc: crc32c(patterned(64 * 1024).subarray(0, 1000)),
      complete_success: true,
    });
  });
});
