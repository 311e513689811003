import { type Frame, IpcError } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import { FrameReader } from '../src/frame-reader.js';
import { connectWs, type WsLink, WsListener } from '../src/index.js';
import { onCleanup } from './util/raw.js';

/** ws's frame writer and parser (exported by ws, not declared by @types/ws). */
interface WsReceiver {
  on(event: 'message', listener: (data: Buffer, binary: boolean) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(chunk: Buffer, done?: () => void): boolean;
}
const { Receiver, Sender } = wsModule as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; mask: boolean; opcode: number; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

type Piece =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'ping'; data: Uint8Array }
  | { kind: 'fragments'; parts: string[] };

const show = (data: string | Uint8Array): string =>
  typeof data === 'string' ? `text:${data}` : `binary:${Buffer.from(data).toString('base64')}`;

/** The frames of `pieces` as a client (masked) or a server (unmasked) writes them. */
function encode(pieces: Piece[], masked: boolean): Buffer {
  const out: Buffer[] = [];
  const frame = (data: Buffer, opcode: number, fin = true) =>
    out.push(...Sender.frame(data, { fin, mask: masked, opcode, readOnly: true, rsv1: false }));
  for (const p of pieces) {
    if (p.kind === 'text') frame(Buffer.from(p.data), 1);
    else if (p.kind === 'binary') frame(Buffer.from(p.data), 2);
    else if (p.kind === 'ping') frame(Buffer.from(p.data), 9);
    else {
      const last = p.parts.length - 1;
      for (const [i, part] of p.parts.entries()) frame(Buffer.from(part), i === 0 ? 1 : 0, i === last);
    }
  }
  return Buffer.concat(out);
}

/** The messages ws's own Receiver reads from `bytes`. */
function readWithWs(bytes: Buffer, masked: boolean, maxPayload = 0): string[] {
  const out: string[] = [];
  const receiver = new Receiver({ isServer: masked, maxPayload });
  receiver.on('message', (data, binary) => out.push(show(binary ? data : data.toString('utf8'))));
  receiver.on('error', () => out.push('error'));
  receiver.write(Buffer.from(bytes));
  return out;
}

/** Cuts `bytes` at the given points (taken modulo its length). */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => (bytes.length ? a % bytes.length : 0)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) chunks.push(Buffer.from(bytes.subarray(from, p)));
    from = Math.max(from, p);
  }
  chunks.push(Buffer.from(bytes.subarray(from)));
  return chunks;
}

const textArb = fc.oneof(
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.constantFrom(
    '',
    'x'.repeat(125),
    'x'.repeat(126),
    'é'.repeat(70),
    '\ufffd',
    'a\ufffdb',
    'x'.repeat(70_000),
  ),
);
const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 4, arbitrary: textArb.map((data) => ({ kind: 'text' as const, data })) },
  {
    weight: 2,
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((data) => ({ kind: 'binary' as const, data })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((data) => ({ kind: 'ping' as const, data })) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.string({ maxLength: 30 }), { minLength: 2, maxLength: 4 })
      .map((parts) => ({ kind: 'fragments' as const, parts })),
  },
);

describe('FrameReader', () => {
  it('reads whole text and binary frames as ws does, and leaves every other frame untouched', () => {
    fc.assert(
      fc.property(pieceArb, fc.boolean(), (piece, masked) => {
        const bytes = encode([piece], masked);
        const before = Buffer.from(bytes);
        const reader = new FrameReader(masked);
        if (reader.read(bytes, 0, 0)) {
          expect(reader.end).toBe(bytes.length);
          expect([show(reader.payload)]).toEqual(readWithWs(before, masked));
        } else {
          expect(bytes.equals(before)).toBe(true);
          expect(piece.kind === 'ping' || piece.kind === 'fragments').toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random or mutated bytes, never reads past them, and restores what it refuses', () => {
    const mutated = fc
      .tuple(
        pieceArb,
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([piece, masked, edits]) => {
        const bytes = encode([piece], masked);
        for (const [at, value] of edits) if (bytes.length) bytes[at % bytes.length] = value;
        return { bytes, masked };
      });
    const random = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([b, masked]) => ({
      bytes: Buffer.from(b),
      masked,
    }));
    fc.assert(
      fc.property(
        fc.oneof(mutated, random),
        fc.nat(40),
        fc.nat(1000),
        ({ bytes, masked }, at, maxPayload) => {
          const before = Buffer.from(bytes);
          const reader = new FrameReader(masked);
          const start = Math.min(at, bytes.length);
          if (reader.read(bytes, start, maxPayload)) {
            expect(reader.end).toBeGreaterThan(start);
            expect(reader.end).toBeLessThanOrEqual(bytes.length);
            // What it accepts, ws accepts with the same payload.
            const alone = before.subarray(start, reader.end);
            expect([show(reader.payload)]).toEqual(readWithWs(alone, masked, maxPayload));
          } else {
            expect(bytes.equals(before)).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves frames over the payload limit, and text that is not UTF-8, to ws', () => {
    const reader = new FrameReader(false);
    expect(reader.read(encode([{ kind: 'text', data: 'x'.repeat(11) }], false), 0, 10)).toBe(false);
    expect(reader.read(encode([{ kind: 'text', data: 'x'.repeat(10) }], false), 0, 10)).toBe(true);
    const invalid = Buffer.from([0x81, 0x02, 0xc3, 0x28]);
    expect(reader.read(invalid, 0, 0)).toBe(false);
    expect(reader.read(Buffer.from([0x81, 0x03, 0xef, 0xbf, 0xbd]), 0, 0)).toBe(true);
    expect(reader.payload).toBe('\ufffd');
  });
});

/** A server-side link (reads masked frames) and a client-side link (unmasked), over real sockets. */
async function linkPair(): Promise<{
  server: WsLink;
  client: WsLink;
  serverGot: Frame[];
  clientGot: Frame[];
}> {
  const listener = await WsListener.listen({ heartbeatInterval: 0 });
  onCleanup(() => listener.close());
  const serverGot: Frame[] = [];
  const serverLink = new Promise<WsLink>((resolve) =>
    listener.onLink((link) => {
      link.attach({ onFrame: (f) => serverGot.push(f), onClose: () => {} });
      resolve(link as WsLink);
    }),
  );
  const client = await connectWs(listener.address, { heartbeatInterval: 0 });
  onCleanup(() => client.close());
  const clientGot: Frame[] = [];
  client.attach({ onFrame: (f) => clientGot.push(f), onClose: () => {} });
  const sl = await serverLink;
  return { server: sl, client, serverGot, clientGot };
}

interface WithReceiver {
  _receiver: { write(chunk: Buffer): boolean };
}

describe('WsLink reads frames itself before ws', () => {
  it('delivers what ws would, in order, however the bytes are cut (both sides)', async () => {
    const { server, client, serverGot, clientGot } = await linkPair();
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
    const client = await connectWs(`ws://127.0.0.1:${port}/`, { heartbeatInterval: 0 });
    const got: Frame[] = [];
    const closed = new Promise<IpcError | undefined>((resolve) =>
      client.attach({ onFrame: (f) => got.push(f), onClose: resolve }),
    );
    const raw = (await peer) as unknown as { _socket: { write(b: Buffer): void } };
    // Two good frames, then one with RSV2 set, then one more good frame, in one write.
    raw._socket.write(
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
});

describe('WsLink reads the socket itself', () => {
  it("keeps ws's pause(): nothing is delivered while paused, everything in order after resume", async () => {
    const { server, client, serverGot } = await linkPair();
    const handle = (server.socket as unknown as { _socket: { _handle: { onread: { name: string } } } })
      ._socket._handle;
    // The link's read callback replaced Node's (where Node has the parts it needs).
    expect(handle.onread.name).not.toBe('onStreamRead');
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
});
