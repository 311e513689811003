/** The sidecar dialect over the unix transport, in one process: order, encodings, the demo. */
import { connect, type Socket } from 'node:net';
import type { RpcServer } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSidecar,
  encodeSidecar,
  frameHeader,
  LengthPrefixedDecoder,
  type SidecarContract,
  sidecarDemoHandlers,
  unixTransport,
} from '../src/index.js';
import { sleep, tempDir, until } from './helpers.js';

const dir = tempDir('oc-sidecar-');
const path = dir.path('engine.sock');
let server: RpcServer;
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const f of cleanup) await f();
  await server?.close();
  dir.remove();
});

const setup = (async () => {
  server = await unixTransport.listen(new URL(`unix://${path}`), {
    dialect: 'sidecar',
    handlers: {
      ...sidecarDemoHandlers({ deviceName: 'test-device' }),
      // A slow first answer would overtake nothing: replies must keep request order.
      CompleteRead: async (p: { session_id: string; bytes_transferred: number }) => {
        await sleep(Number(p.bytes_transferred));
        return { success: true, message: p.session_id };
      },
    },
  });
})();

function rawClient(): { socket: Socket; replies: Buffer[]; next: (n: number) => Promise<Buffer[]> } {
  const socket = connect(path);
  const replies: Buffer[] = [];
  const decoder = new LengthPrefixedDecoder(1 << 20, (f) => replies.push(Buffer.from(f)));
  socket.on('data', (c) => decoder.push(c));
  cleanup.push(() => socket.destroy());
  return {
    socket,
    replies,
    async next(n) {
      while (replies.length < n) await sleep(5);
      return replies.splice(0, n);
    },
  };
}

const frame = (body: Buffer) => Buffer.concat([frameHeader(body.length), body]);

describe('sidecar over unix', () => {
  it('serves Ping and GetCapabilities to an RpcClient; StartRead is unsupported', async () => {
    await setup;
    const client = await unixTransport.connect<SidecarContract>(new URL(`unix://${path}`), {
      dialect: 'sidecar',
    });
    cleanup.push(() => client.close());
    const pong = await client.request('Ping', { timestamp_ns: 5n, client_id: 'vitest' });
    expect(pong.client_timestamp_ns).toBe(5);
    expect(BigInt(pong.server_timestamp_ns)).toBeGreaterThan(1_600_000_000_000_000_000n);
    expect(await client.request('GetCapabilities', {})).toMatchObject({
      device_name: 'test-device',
      supported_auth: ['none'],
      real_rdma: false,
    });
    await expect(
      client.request('StartRead', {
        volume_id: 1,
        needle_id: 2,
        cookie: 3,
        offset: 0,
        size: 0,
        remote_addr: 0,
        remote_key: 0,
        timeout_secs: 1,
      }),
    ).rejects.toMatchObject({ code: 'REMOTE', remoteCode: 'UNSUPPORTED_MESSAGE' });
  });

  it('answers pipelined requests in order, each in the encoding it came in', async () => {
    await setup;
    const c = rawClient();
    await new Promise((r) => c.socket.once('connect', r));
    // One write, three requests: a slow one first, then a Go-style map, then an unknown variant.
    c.socket.write(
      Buffer.concat([
        frame(
          encodeSidecar(
            'CompleteRead',
            { session_id: 'slow', success: true, bytes_transferred: 50 },
            'array',
          ),
        ),
        frame(
          encodeSidecar('CompleteRead', { session_id: 'fast', success: true, bytes_transferred: 0 }, 'map'),
        ),
        frame(encodeSidecar('Ping', { timestamp_ns: 1 }, 'array').fill(0x61, 2, 6)), // "aaaa" variant
      ]),
    );
    const [first, second, third] = await c.next(3);
    expect(decodeSidecar(first!)).toEqual({
      type: 'CompleteReadResponse',
      data: { success: true, message: 'slow' },
      encoding: 'array',
    });
    expect(decodeSidecar(second!)).toEqual({
      type: 'CompleteReadResponse',
      data: { success: true, message: 'fast' },
      encoding: 'map',
    });
    expect(decodeSidecar(third!)).toMatchObject({
      type: 'Error',
      data: { code: 'UNSUPPORTED_MESSAGE' },
      encoding: 'array',
    });
  });

  it('drops the late reply of a timed-out request instead of handing it to the next one', async () => {
    await setup;
    const client = await unixTransport.connect<SidecarContract>(new URL(`unix://${path}`), {
      dialect: 'sidecar',
    });
    cleanup.push(() => client.close());
    const slow = client.request(
      'CompleteRead',
      { session_id: 'slow', success: true, bytes_transferred: 80 },
      { timeout: 10 },
    );
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
    const next = await client.request('CompleteRead', {
      session_id: 'next',
      success: true,
      bytes_transferred: 0,
    });
    expect(next).toEqual({ success: true, message: 'next' });
  });

  it('reconnects a sidecar client when the engine restarts', async () => {
    const restartPath = dir.path('restart.sock');
    const url = new URL(`unix://${restartPath}`);
    let engine = await unixTransport.listen(url, { dialect: 'sidecar', handlers: sidecarDemoHandlers() });
    const client = await unixTransport.connect<SidecarContract>(url, {
      dialect: 'sidecar',
      reconnect: { minDelay: 10, maxDelay: 50 },
    });
    cleanup.push(() => client.close());
    const states: string[] = [];
    client.onState((s) => states.push(s));
    expect((await client.request('Ping', { timestamp_ns: 1 })).client_timestamp_ns).toBe(1);
    await engine.close();
    engine = await unixTransport.listen(url, { dialect: 'sidecar', handlers: sidecarDemoHandlers() });
    cleanup.push(() => engine.close());
    await until(() => states.includes('reconnecting') && client.state === 'open');
    expect((await client.request('Ping', { timestamp_ns: 2 })).client_timestamp_ns).toBe(2);
  });

  it('drops a connection that sends garbage and keeps serving the next client', async () => {
    await setup;
    const bad = rawClient();
    const closed = new Promise((r) => bad.socket.once('close', r));
    bad.socket.write(frame(Buffer.from([0xc1, 0xc1])));
    await closed;
    const good = rawClient();
    good.socket.write(frame(encodeSidecar('Ping', { timestamp_ns: 9 }, 'map')));
    const [reply] = await good.next(1);
    expect(decodeSidecar(reply!)).toMatchObject({ type: 'Pong', data: { client_timestamp_ns: 9 } });
  });
});
