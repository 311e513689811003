/**
 * The rdma server under random and mutated control frames (fast-check): whatever a client
 * sends — before, during or after the handshake — costs only that client its connection; the
 * server keeps serving the others.
 */
import { connect } from 'node:net';
import type { RpcClient, RpcServer } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_VERSION, encodeData, encodeHello, encodeRendezvous, rdmaTransport } from '../src/index.js';
import { native } from '../src/native-bridge.js';
import { tempDir } from './helpers.js';

const dir = tempDir('oc-rdma-fuzz-');
const url = new URL(`rdma+cma://${dir.path('fuzz.sock')}`);
let server: RpcServer;
let client: RpcClient;

beforeAll(async () => {
  server = await rdmaTransport.listen(url, { handlers: { echo: (p: unknown) => p } });
  client = await rdmaTransport.connect(url, { reconnect: false });
});
afterAll(async () => {
  client.close();
  await server.close();
  dir.remove();
});

const frame = (body: Uint8Array): Buffer => {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.byteLength);
  return Buffer.concat([header, body]);
};

/** Sends `frames` on a raw connection and waits until the server closes it (or 200 ms pass). */
function sendRaw(frames: Uint8Array[]): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(dir.path('fuzz.sock'));
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 200);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.on('connect', () => {
      for (const f of frames) s.write(frame(f));
    });
  });
}

const hello = () =>
  encodeHello({
    v: CONTROL_VERSION,
    provider: 'cma',
    pid: process.pid,
    handshake: { tableAddr: native().table().addr },
  });

describe('rdma server fuzzing', () => {
  it('survives random frames instead of a HELLO', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 4 }),
        async (frames) => {
          await sendRaw(frames);
        },
      ),
      { numRuns: 40 },
    );
    expect(await client.request('echo', { still: 'serving' })).toEqual({ still: 'serving' });
  });

  it('survives random and forged frames after a valid HELLO (bogus rendezvous, bad data)', async () => {
    const forged = fc.record({
      key: fc.nat({ max: 0xffff_ffff }),
      addr: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      length: fc.integer({ min: 1, max: 1 << 20 }),
      crc: fc.nat({ max: 0xffff_ffff }),
    });
    await fc.assert(
      fc.asyncProperty(forged, fc.uint8Array({ maxLength: 64 }), async (r, junk) => {
        await sendRaw([
          hello(),
          encodeRendezvous({
            id: 1,
            region: { provider: 'cma', key: r.key, addr: r.addr, length: r.length },
            crc: r.crc,
          }),
          encodeData(junk),
          junk,
        ]);
      }),
      { numRuns: 40 },
    );
    expect(await client.request('echo', [1, 2, 3])).toEqual([1, 2, 3]);
  });
});
