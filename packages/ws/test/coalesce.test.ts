/**
 * Coalescing (src/coalesce.ts): the frames of one tick as one WebSocket message between two
 * openclaw-ipc ends that agreed at the upgrade. The format both ways (property tests and fuzzing
 * of the split), the agreement against plain `ws` peers (offered or not, refused by an option),
 * the peer's size respected, frames that cannot be packed sent alone in order, and RPC over it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { acceptedSize, COALESCE_HEADER, isPacked, pack, packable, unpack } from '../src/coalesce.js';
import {
  connectWs,
  connectWsClient,
  createWsServer,
  WsListener,
  type WsServerOptions,
} from '../src/index.js';
import { linkPair } from './util/links.js';
import { LINK_MODES } from './util/modes.js';
import { onCleanup, until } from './util/raw.js';

const RS = '\x1e';
const rpc = (method: string, params: unknown, id: number) =>
  JSON.stringify({ jsonrpc: '2.0', method, params, id });

/** Every frame of the messages a peer received, sequences split. */
const framesOf = (messages: string[]): string[] => messages.flatMap((m) => (isPacked(m) ? unpack(m) : [m]));

/** A plain ws client; `offer` sends the coalescing header with that size. */
async function plainPeer(address: string, offer?: string) {
  const headers: Record<string, string> = offer === undefined ? {} : { [COALESCE_HEADER]: offer };
  const ws = new WebSocket(address, { headers, perMessageDeflate: false });
  onCleanup(() => ws.terminate());
  ws.on('error', () => {});
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(String(data)));
  const answered = new Promise<string | string[] | undefined>((resolve) =>
    ws.once('upgrade', (res) => resolve(res.headers[COALESCE_HEADER])),
  );
  await new Promise((r) => ws.once('open', r));
  return { ws, messages, answer: await answered };
}

describe('the sequence format', () => {
  const frame = fc.string({ unit: 'binary', maxLength: 60 }).filter(packable);

  it('splits back into the frames packed, in order, whatever they hold besides RS', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 2, maxLength: 20 }), (frames) => {
        const message = pack(frames);
        expect(isPacked(message)).toBe(true);
        expect(message.length).toBe(frames.reduce((n, f) => n + f.length + 2, 0));
        expect(unpack(message)).toEqual(frames);
      }),
    );
  });

  it('leaves one frame as it is', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(pack([f])).toBe(f);
        expect(isPacked(pack([f]))).toBe(false);
      }),
    );
  });

  it('never throws on what a peer may send', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (tail) => {
        const parts = unpack(RS + tail);
        expect(Array.isArray(parts)).toBe(true);
        expect(parts.every((p) => typeof p === 'string')).toBe(true);
      }),
    );
  });

  it('knows JSON texts and RS-holding frames apart', () => {
    expect(packable(JSON.stringify({ s: RS }))).toBe(true); // JSON escapes control characters
    expect(packable(`a${RS}b`)).toBe(false);
    expect(isPacked('{"jsonrpc":"2.0"}')).toBe(false);
  });

  it('reads the size a peer accepts only when it is a whole number of at least 1 KiB', () => {
    expect(acceptedSize('1048576')).toBe(1_048_576);
    expect(acceptedSize('1024')).toBe(1024);
    for (const bad of [undefined, '', '1023', '-5', '1e6', '12 34', 'x', '9'.repeat(13), ['2048', '2048']])
      expect(acceptedSize(bad)).toBeUndefined();
  });
});

describe.each(LINK_MODES)('coalescing over real sockets, $name', ({ fastPath }) => {
  async function listener(options: WsServerOptions = {}) {
    const l = await WsListener.listen({ heartbeatInterval: 0, fastPath, ...options });
    onCleanup(() => l.close());
    const links: import('../src/index.js').WsLink[] = [];
    const got: Array<string | Uint8Array> = [];
    l.onLink((link) => {
      link.attach({ onFrame: (f) => got.push(f), onClose: () => {} });
      links.push(link as import('../src/index.js').WsLink);
    });
    return { l, links, got };
  }

  it('a server answers an offer with its own size, and sends a tick of frames as fewer messages', async () => {
    const { l, links } = await listener({ maxMessageSize: 200_000 });
    const peer = await plainPeer(l.address, '1048576');
    expect(peer.answer).toBe('200000');
    await until(() => links.length === 1);
    const frames = Array.from({ length: 12 }, (_, i) => rpc('tick', { i }, i));
    for (const f of frames) void links[0]!.send(f);
    await until(() => framesOf(peer.messages).length === frames.length);
    expect(framesOf(peer.messages)).toEqual(frames);
    expect(peer.messages.length).toBeLessThan(frames.length);
  });

  it('sends a tick first in a slice of half the previous tick, then 16 frames a message, in order', async () => {
    const { l, links } = await listener();
    const peer = await plainPeer(l.address, '1048576');
    await until(() => links.length === 1);
    const link = links[0]!;
    let sent = 0;
    let seen = 0;
    const perTick: number[][] = [];
    for (const count of [16, 16, 40, 1, 3, 1]) {
      for (let i = 0; i < count; i++) void link.send(rpc('tick', { i: sent }, sent++));
      await until(() => framesOf(peer.messages).length === sent);
      // Frames per message (each write of the link is one message between two ends that agreed).
      perTick.push(peer.messages.slice(seen).map((m) => (isPacked(m) ? unpack(m).length : 1)));
      seen = peer.messages.length;
    }
    expect(perTick).toEqual([[1, 15], [8, 8], [8, 16, 16], [1], [1, 2], [1]]);
    expect(framesOf(peer.messages)).toEqual(Array.from({ length: sent }, (_, i) => rpc('tick', { i }, i)));
  });

  it('a peer that does not offer gets no answer, one message per frame, and its RS messages are not split', async () => {
    const { l, links, got } = await listener();
    const peer = await plainPeer(l.address);
    expect(peer.answer).toBeUndefined();
    await until(() => links.length === 1);
    const frames = Array.from({ length: 12 }, (_, i) => rpc('tick', { i }, i));
    for (const f of frames) void links[0]!.send(f);
    await until(() => peer.messages.length === frames.length);
    expect(peer.messages).toEqual(frames);
    const sequence = pack(['{"a":1}', '{"b":2}']);
    peer.ws.send(sequence);
    await until(() => got.length === 1);
    expect(got).toEqual([sequence]);
  });

  it('a server with coalesce: false neither answers nor splits', async () => {
    const { l, links, got } = await listener({ coalesce: false });
    const peer = await plainPeer(l.address, '1048576');
    expect(peer.answer).toBeUndefined();
    await until(() => links.length === 1);
    const sequence = pack(['{"a":1}', '{"b":2}']);
    peer.ws.send(sequence);
    await until(() => got.length === 1);
    expect(got).toEqual([sequence]);
  });

  it('splits the sequences of a peer that agreed, and keeps the order with frames sent alone', async () => {
    const { l, got } = await listener();
    const peer = await plainPeer(l.address, '1048576');
    peer.ws.send(pack(['{"a":1}', '{"b":2}']));
    peer.ws.send('{"c":3}');
    peer.ws.send(pack(['{"d":4}', '', '{"e":5}']));
    await until(() => got.length === 6);
    expect(got).toEqual(['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}', '', '{"e":5}']);
  });

  it('never sends a message over the size the peer accepts', async () => {
    const { l, links } = await listener();
    // The peer accepts 4 KiB: ws closes with 1009 on anything larger.
    const peer = await plainPeer(l.address, '4096');
    peer.ws.on('message', () => {});
    let closedWith: number | undefined;
    peer.ws.on('close', (code) => {
      closedWith = code;
    });
    const sizes: number[] = [];
    peer.ws.on('message', (data: Buffer) => sizes.push(data.length));
    await until(() => links.length === 1);
    const frames = Array.from({ length: 40 }, (_, i) => `"${i}:${'é'.repeat(300)}"`);
    for (const f of frames) void links[0]!.send(f);
    await until(() => framesOf(peer.messages).length === frames.length);
    expect(framesOf(peer.messages)).toEqual(frames);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    expect(peer.messages.length).toBeLessThan(frames.length);
    expect(closedWith).toBeUndefined();
  });

  it('sends frames that hold RS, binary frames and large ones alone, in order with the packed ones', async () => {
    const { server, client, serverGot, clientGot } = await linkPair(fastPath);
    const frames = [
      '{"a":1}',
      '{"b":2}',
      `raw ${RS} inside`,
      '{"c":3}',
      new Uint8Array([1, 2, 3]),
      '{"d":4}',
      `"${'x'.repeat(20_000)}"`,
      '{"e":5}',
      '{"f":6}',
    ];
    for (const f of frames) {
      void client.send(f);
      void server.send(f);
    }
    await until(() => serverGot.length === frames.length && clientGot.length === frames.length);
    expect(serverGot).toEqual(frames.map((f) => (typeof f === 'string' ? f : Buffer.from(f))));
    expect(clientGot).toEqual(frames.map((f) => (typeof f === 'string' ? f : Buffer.from(f))));
  });

  it('a client packs only for a server that answered the offer', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    onCleanup(() => new Promise((r) => wss.close(r)));
    await new Promise((r) => wss.once('listening', r));
    let answer = true;
    const offers: Array<string | string[] | undefined> = [];
    wss.on('headers', (headers, req) => {
      offers.push(req.headers[COALESCE_HEADER]);
      if (answer) headers.push(`${COALESCE_HEADER}: 65536`);
    });
    const received: string[][] = [];
    wss.on('connection', (ws) => {
      const mine: string[] = [];
      received.push(mine);
      ws.on('message', (data) => mine.push(String(data)));
    });
    const { port } = wss.address() as { port: number };
    const frames = Array.from({ length: 10 }, (_, i) => rpc('m', [i], i));
    for (const agreed of [true, false]) {
      answer = agreed;
      const link = await connectWs(`ws://127.0.0.1:${port}`, { heartbeatInterval: 0, fastPath });
      onCleanup(() => link.close());
      link.attach({ onFrame: () => {}, onClose: () => {} });
      for (const f of frames) void link.send(f);
      const mine = () => received[received.length - 1] ?? [];
      await until(() => framesOf(mine()).length === frames.length);
      expect(framesOf(mine())).toEqual(frames);
      if (agreed) expect(mine().length).toBeLessThan(frames.length);
      else expect(mine()).toEqual(frames);
    }
    expect(offers).toEqual(['1048576', '1048576']);
    const refusing = await connectWs(`ws://127.0.0.1:${port}`, {
      heartbeatInterval: 0,
      fastPath,
      coalesce: false,
    });
    onCleanup(() => refusing.close());
    expect(offers[2]).toBeUndefined();
  });

  it('RPC over it: many requests of one tick answered, and a server keeps serving after bad sequences', async () => {
    const { server, address } = await createWsServer({ heartbeatInterval: 0, fastPath });
    onCleanup(() => server.close());
    server.handle('echo', (p) => p);
    const client = await connectWsClient(address, { heartbeatInterval: 0, fastPath });
    onCleanup(() => client.close());
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => client.request('echo', { i, s: `${RS}${i}` })),
    );
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => ({ i, s: `${RS}${i}` })));

    const peer = await plainPeer(address, '1048576');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 100 }), async (tail) => {
        peer.ws.send(RS + tail);
      }),
      { numRuns: 200 },
    );
    const before = framesOf(peer.messages).length;
    peer.ws.send(pack([rpc('echo', { ok: 1 }, 901), rpc('echo', { ok: 2 }, 902)]));
    const answered = () =>
      framesOf(peer.messages)
        .slice(before)
        .map((f) => JSON.parse(f))
        .filter((m) => m.id === 901 || m.id === 902);
    await until(() => answered().length === 2);
    expect(answered().map((m) => m.result)).toEqual([{ ok: 1 }, { ok: 2 }]);
    expect(await client.request('echo', 'still')).toBe('still');
  });
});
