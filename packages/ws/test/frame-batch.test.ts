import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { FrameBatch } from '../src/frame-batch.js';
import { UTF8_CODECS } from './util/modes.js';

/** A message as one comparable string (deep equality of large Buffers is slow). */
type Message = string;
const show = (data: string | Uint8Array): Message =>
  typeof data === 'string' ? `text:${data}` : `binary:${Buffer.from(data).toString('base64')}`;

/** ws's frame parser (exported by ws, not declared by @types/ws). */
interface WsReceiver {
  on(event: 'message', listener: (data: Buffer, binary: boolean) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(chunk: Buffer, done: () => void): void;
}
const { Receiver } = wsModule as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => WsReceiver;
};

/** Decodes `bytes` with ws's own Receiver (a server's receiver wants masked frames). */
function decodeWithWs(bytes: Buffer, masked: boolean): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const out: Message[] = [];
    const receiver = new Receiver({ isServer: masked, maxPayload: 0 });
    receiver.on('message', (data, binary) => out.push(show(binary ? data : data.toString('utf8'))));
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(out));
  });
}

/** Payloads around the header-size boundaries (125/126, 65535/65536 bytes) and multi-byte text. */
const payloadArb = fc.oneof(
  fc.string({ maxLength: 300, unit: 'binary' }),
  fc.string({ maxLength: 50, unit: 'grapheme' }),
  fc.uint8Array({ maxLength: 300 }),
  fc
    .constantFrom(0, 1, 125, 126, 127, 65535, 65536, 70000)
    .chain((n) =>
      fc.oneof(
        fc.constant('é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2)),
        fc.constant(new Uint8Array(n).fill(7)),
      ),
    ),
);

describe.each(UTF8_CODECS)(
  'FrameBatch (%s UTF-8): frames written here are read back by ws unchanged',
  (_codec, utf8) => {
    for (const masked of [false, true]) {
      it(`${masked ? 'masked (client)' : 'unmasked (server)'} text and binary frames, any length`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(payloadArb, { minLength: 1, maxLength: 8 }), async (payloads) => {
            const batch = new FrameBatch(masked, utf8);
            for (const p of payloads) batch.add(p);
            expect(batch.count).toBe(payloads.length);
            const bytes = batch.take()!;
            expect(batch.take()).toBeUndefined();
            const got = await decodeWithWs(bytes, masked);
            expect(got).toEqual(payloads.map(show));
          }),
          { numRuns: 150 },
        );
      });
    }

    it('text shorter than 126 UTF-16 units whose UTF-8 needs the 2-byte length (header moved)', async () => {
      for (const masked of [false, true]) {
        const batch = new FrameBatch(masked, utf8);
        const texts: string[] = [];
        for (let n = 0; n < 130; n++) texts.push('€'.repeat(n), `${'é'.repeat(n >> 1)}x`);
        for (const t of texts) batch.add(t);
        const bytes = batch.take()!;
        expect(await decodeWithWs(bytes, masked)).toEqual(texts.map(show));
        // The first frame past 125 bytes ('€' x 42, 126 bytes) carries the 16-bit length.
        const one = new FrameBatch(masked, utf8);
        one.add('€'.repeat(42));
        const frame = one.take()!;
        expect(frame[1]! & 0x7f).toBe(126);
        expect(frame.readUInt16BE(2)).toBe(126);
        expect(frame.length).toBe(4 + (masked ? 4 : 0) + 126);
      }
    });

    it('carries pending frames across slabs, taken at any point', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(fc.tuple(payloadArb, fc.boolean()), { minLength: 50, maxLength: 300 }),
          async (masked, steps) => {
            const batch = new FrameBatch(masked, utf8);
            const chunks: Buffer[] = [];
            for (const [payload, takeAfter] of steps) {
              batch.add(payload);
              if (takeAfter) chunks.push(Buffer.from(batch.take()!));
            }
            const rest = batch.take();
            if (rest) chunks.push(rest);
            const got = await decodeWithWs(Buffer.concat(chunks), masked);
            expect(got).toEqual(steps.map(([p]) => show(p)));
          },
        ),
        { numRuns: 40 },
      );
    }, 60_000);

    it('never changes a buffer it handed out when more frames follow', () => {
      const batch = new FrameBatch(false, utf8);
      batch.add('first');
      const first = Buffer.from(batch.take()!);
      const taken = batch.take();
      expect(taken).toBeUndefined();
      batch.add('first');
      const again = batch.take()!;
      batch.add('x'.repeat(100_000));
      batch.add('second');
      expect(again).toEqual(first);
      expect(batch.size).toBeGreaterThan(100_000);
    });

    it('batches interleaved on one thread keep their own frames, and what they handed out stays unchanged', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(fc.tuple(fc.nat(3), payloadArb, fc.boolean()), { minLength: 20, maxLength: 200 }),
          async (masked, steps) => {
            const batches = Array.from({ length: 4 }, () => new FrameBatch(masked, utf8));
            // The buffers take() returned, kept as they are (not copied): a later add() by any
            // batch must not write into them.
            const chunks: Buffer[][] = batches.map(() => []);
            const sent: Message[][] = batches.map(() => []);
            for (const [i, payload, takeAfter] of steps) {
              batches[i]!.add(payload);
              sent[i]!.push(show(payload));
              if (takeAfter) chunks[i]!.push(batches[i]!.take()!);
            }
            for (const [i, batch] of batches.entries()) {
              const rest = batch.take();
              if (rest) chunks[i]!.push(rest);
              expect(await decodeWithWs(Buffer.concat(chunks[i]!), masked)).toEqual(sent[i]);
            }
          },
        ),
        { numRuns: 40 },
      );
    }, 60_000);

    it('holds no buffer between take() and the next add(), and takes one again on use', () => {
      const batch = new FrameBatch(false, utf8);
      expect(batch.heldBytes).toBe(0);
      batch.add('hello');
      expect(batch.heldBytes).toBeGreaterThan(0);
      expect(batch.take()!.subarray(2).toString()).toBe('hello');
      expect(batch.heldBytes).toBe(0);
      // Larger than the shared slab: a buffer of its own while pending, released by take() too.
      batch.add(new Uint8Array(200_000));
      expect(batch.heldBytes).toBeGreaterThanOrEqual(200_000);
      expect(batch.take()!.length).toBe(200_010);
      expect(batch.heldBytes).toBe(0);
      batch.add('again');
      expect(batch.take()!.subarray(2).toString()).toBe('again');
      expect(batch.heldBytes).toBe(0);
    });

    it('masks every frame with its own key', () => {
      const batch = new FrameBatch(true, utf8);
      const keys = new Set<string>();
      for (let i = 0; i < 200; i++) {
        batch.add('same payload');
        keys.add(batch.take()!.subarray(2, 6).toString('hex'));
      }
      expect(keys.size).toBeGreaterThan(190);
    });
  },
);
