/** Every decoder of this package, fed random and mutated input: a typed IpcError or a value, never a crash. */
import { event, failure, IpcError, request, success } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import {
  decodeRecords,
  encodeRecord,
  ipckitDialect,
  parseChannelFile,
  serializeChannelFile,
  toIpckit,
} from '../src/index.js';

const json = fc.jsonValue({ maxDepth: 3 });
const ipckitish = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
    timestamp: fc.oneof(fc.nat(), fc.double(), fc.string(), fc.constant(-1)),
    type: fc.constantFrom('request', 'response', 'event', 'other', 7),
    reply_to: fc.oneof(fc.uuid(), fc.constant(null), fc.integer()),
    method: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
    payload: json,
    error: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
  },
  { requiredKeys: [] },
);

const typed = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IpcError);
    expect(['SERIALIZATION', 'PROTOCOL']).toContain((err as IpcError).code);
  }
};

describe('fuzz: ipckit channel-file parser', () => {
  it('random text never crashes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => typed(() => parseChannelFile(text))),
      { numRuns: 2000 },
    );
  });

  it('arrays of near-messages: valid ones kept, each bad one a PROTOCOL error', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(ipckitish, json), { maxLength: 12 }), (elements) => {
        const parsed = parseChannelFile(JSON.stringify(elements));
        expect(parsed.messages.length + parsed.errors.length).toBe(elements.length);
        for (const e of parsed.errors) expect(e.code).toBe('PROTOCOL');
        // What we keep, written back, parses to the same messages.
        expect(parseChannelFile(serializeChannelFile(parsed.messages)).messages).toEqual(parsed.messages);
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated valid files: never a crash', () => {
    const valid = serializeChannelFile([
      toIpckit(request('ping', { a: 1 }), 5),
      toIpckit(success('x', [1]), 6),
    ]);
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.string({ maxLength: 3 }), fc.nat(4), (at, insert, cut) => {
        typed(() => parseChannelFile(valid.slice(0, at) + insert + valid.slice(at + cut)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('fuzz: ipckit dialect', () => {
  it('decode of random frames: an IpcMessage or a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          ipckitish.map((v) => JSON.stringify(v)),
          fc.uint8Array({ maxLength: 64 }),
        ),
        (frame) => typed(() => ipckitDialect.decode(frame)),
      ),
      { numRuns: 2000 },
    );
  });

  it('round trip of canonical messages', () => {
    const canonical = fc.oneof(
      fc.tuple(fc.string(), json).map(([m, p]) => request(m, p)),
      fc.tuple(fc.string(), json).map(([m, p]) => event(m, p)),
      fc.tuple(fc.uuid(), json).map(([id, r]) => success(id, r)),
      fc.tuple(fc.uuid(), fc.string()).map(([id, e]) => failure(id, e)),
    );
    fc.assert(
      fc.property(canonical, (message) => {
        const back = ipckitDialect.decode(ipckitDialect.encode(message));
        expect(back).toEqual(JSON.parse(JSON.stringify(message)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('fuzz: journal record decoder', () => {
  const records = fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 })), {
    minLength: 1,
    maxLength: 8,
  });

  it('random bytes: never a crash, only PROTOCOL errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const r = decodeRecords(bytes, 1024);
        expect(r.consumed).toBeLessThanOrEqual(bytes.length);
        for (const e of r.errors) expect(e.code).toBe('PROTOCOL');
      }),
      { numRuns: 3000 },
    );
  });

  it('damaged stretches: every untouched record still decoded, whole or not at all', () => {
    fc.assert(
      fc.property(
        records,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (frames, where, noise) => {
          const encoded = frames.map((f) => encodeRecord(uuidv7(), f));
          const victim = where % encoded.length;
          const parts = encoded.map((b, i) => {
            if (i !== victim) return b;
            const copy = Buffer.from(b);
            const at = where % copy.length;
            for (let k = 0; k < noise.length && at + k < copy.length; k++) copy[at + k]! ^= noise[k]! | 1;
            return copy;
          });
          const all = Buffer.concat(parts);
          const r = decodeRecords(all, 1024);
          const want = frames.filter((_, i) => i !== victim);
          const got = r.records.map((x) => x.frame);
          for (const f of want) expect(got).toContainEqual(typeof f === 'string' ? f : new Uint8Array(f));
          // The damaged record is either skipped or (noise in a spot that changes nothing) whole.
          expect(got.length === want.length || got.length === frames.length).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('truncated anywhere: the whole records before the cut, nothing else, the tail left unconsumed', () => {
    fc.assert(
      fc.property(records, fc.nat(), (frames, cutAt) => {
        const encoded = frames.map((f) => encodeRecord(uuidv7(), f));
        const all = Buffer.concat(encoded);
        const cut = cutAt % (all.length + 1);
        const r = decodeRecords(all.subarray(0, cut), 1024);
        let whole = 0;
        let end = 0;
        for (const e of encoded) {
          if (end + e.length > cut) break;
          end += e.length;
          whole++;
        }
        expect(r.records.length).toBe(whole);
        expect(r.consumed).toBe(end);
        expect(r.errors).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });
});
