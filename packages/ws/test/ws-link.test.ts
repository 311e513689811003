/**
 * WsLink on both paths (util/modes.ts): the default one on public APIs (ws's 'message' event,
 * frames batched onto the upgrade's socket with socket.write) and the opt-in fast path
 * (src/internals.ts: frames read before ws's Receiver, the socket's reads and writes made on its
 * handle). What each reads, in what order, with ws's pause(); the switch that turns the fast path
 * off. Writes, backpressure and close codes: ws-link-writes.test.ts.
 */
import { type Frame, IpcError } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { connectWs, connectWsClient, createWsServer } from '../src/index.js';
import { cut, encode, pieceArb, readWithWs, show } from './util/frames.js';
import { linkPair, socketUnder } from './util/links.js';
import { LINK_MODES } from './util/modes.js';
import { onCleanup } from './util/raw.js';

interface WithReceiver {
  _receiver: { write(chunk: Buffer): boolean };
}

/** Whether Node's own read callback still reads the socket (the fast path replaces it). */
const nodeReads = (ws: WebSocket): boolean =>
  (socketUnder(ws) as unknown as { _handle: { onread: { name: string } } })._handle.onread.name ===
  'onStreamRead';

describe.each(LINK_MODES)('WsLink, $name', ({ fastPath }) => {
  it('runs on the path asked for, on both sides', async () => {
    const { server, client } = await linkPair(fastPath);
    expect(server.fastPath).toBe(fastPath);
    expect(client.fastPath).toBe(fastPath);
    expect(nodeReads(server.socket)).toBe(!fastPath);
    expect(nodeReads(client.socket)).toBe(!fastPath);
  });

  it('delivers what ws would, in order, however the bytes are cut (both sides)', async () => {
    const { server, client, serverGot, clientGot } = await linkPair(fastPath);
    await fc.assert(
      fc.asyncProperty(
        fc.array(pieceArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (pieces, at) => {
          for (const [link, got, masked] of [
            [server, serverGot, true],
            [client, clientGot, false],
          ] as const) {
            got.length = 0;
            const bytes = encode(pieces, masked);
            const expected = readWithWs(bytes, masked);
            // Bytes as the socket hands them to ws's Receiver, cut anywhere.
            const receiver = (link.socket as unknown as WithReceiver)._receiver;
            for (const chunk of cut(bytes, at)) receiver.write(chunk);
            expect(got.map(show)).toEqual(expected);
          }
          // ws answers the pings; it lets only so many answers wait for their write.
          await new Promise((r) => setImmediate(r));
        },
      ),
      { numRuns: 200 },
    );
    // Still open, and reading the socket as before.
    expect(server.socket.readyState).toBe(WebSocket.OPEN);
    clientGot.length = 0;
    await server.send('after');
    await new Promise((r) => setTimeout(r, 50));
    expect(clientGot).toEqual(['after']);
  });

  it('a protocol error in the middle of a read closes the link with a typed error, after the frames before it', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    onCleanup(() => new Promise((r) => wss.close(r)));
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    const peer = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = await connectWs(`ws://127.0.0.1:${port}/`, { heartbeatInterval: 0, fastPath });
    const got: Frame[] = [];
    const closed = new Promise<IpcError | undefined>((resolve) =>
      client.attach({ onFrame: (f) => got.push(f), onClose: resolve }),
    );
    // Two good frames, then one with RSV2 set, then one more good frame, in one write.
    socketUnder(await peer).write(
      Buffer.concat([
        encode([{ kind: 'text', data: 'one' }], false),
        encode([{ kind: 'binary', data: Uint8Array.of(1, 2) }], false),
        Buffer.from([0xa1, 0x01, 0x78]),
        encode([{ kind: 'text', data: 'never' }], false),
      ]),
    );
    const error = await closed;
    expect(got.map(show)).toEqual(['text:one', `binary:${Buffer.from([1, 2]).toString('base64')}`]);
    expect(error).toBeInstanceOf(IpcError);
    expect(error?.code).toBe('PROTOCOL');
  });

  it("keeps ws's pause(): nothing is delivered while paused, everything in order after resume", async () => {
    const { server, client, serverGot } = await linkPair(fastPath);
    server.socket.pause();
    for (let i = 0; i < 50; i++) await client.send(`m${i}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(serverGot).toEqual([]);
    server.socket.resume();
    for (let i = 50; i < 100; i++) await client.send(`m${i}`);
    const deadline = Date.now() + 5000;
    while (serverGot.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(serverGot).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
  });

  it('answers 5,000 pipelined requests in order of their replies, then a lone one', async () => {
    const { server, address } = await createWsServer({ heartbeatInterval: 0, fastPath });
    onCleanup(() => server.close());
    server.handle('echo', (p) => p);
    const client = await connectWsClient(address, { heartbeatInterval: 0, maxInFlight: 10_000, fastPath });
    onCleanup(() => client.close());
    const params = Array.from({ length: 5000 }, (_, i) => ({ i, text: 'ü'.repeat(i % 300) }));
    expect(await Promise.all(params.map((p) => client.request('echo', p)))).toEqual(params);
    expect(await client.request('echo', { lone: true })).toEqual({ lone: true });
  });
});

describe('the switch that turns the fast path off', () => {
  it('OPENCLAW_IPC_NO_INTERNALS=1 keeps links on public APIs whatever the option says', async () => {
    process.env.OPENCLAW_IPC_NO_INTERNALS = '1';
    try {
      const { server, client, serverGot } = await linkPair(true);
      expect([server.fastPath, client.fastPath]).toEqual([false, false]);
      expect(nodeReads(server.socket)).toBe(true);
      await client.send('still works');
      const deadline = Date.now() + 5000;
      while (serverGot.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(serverGot).toEqual(['still works']);
    } finally {
      delete process.env.OPENCLAW_IPC_NO_INTERNALS;
    }
  });
});
