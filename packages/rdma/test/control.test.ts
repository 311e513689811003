/**
 * The rdma control frames: round trips of every kind, and fuzzing (fast-check) of the decoder:
 * random and mutated input never crashes or hangs and always fails as an IpcError.
 */
import { IpcError } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeControl,
  encodeData,
  encodeHello,
  encodeRelease,
  encodeRendezvous,
  KIND_RENDEZVOUS,
} from '../src/control.js';

const MAX = 256 * 1024 * 1024;

/** Flips, inserts, deletes or sets bytes of `bytes`. */
const mutated = (bytes: Uint8Array) =>
  fc
    .array(
      fc.record({
        at: fc.nat(),
        op: fc.constantFrom('flip', 'insert', 'delete', 'set'),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((edits) => {
      const out = [...bytes];
      for (const e of edits) {
        const at = out.length === 0 ? 0 : e.at % out.length;
        if (e.op === 'flip') out[at] = (out[at] ?? 0) ^ (1 << (e.value % 8));
        else if (e.op === 'insert') out.splice(at, 0, e.value);
        else if (e.op === 'delete') out.splice(at, 1);
        else out[at] = e.value;
      }
      return Uint8Array.from(out);
    });

/** Decoding either succeeds or throws an IpcError; nothing else. */
function decodesOrIpcError(bytes: Uint8Array): void {
  try {
    decodeControl(bytes, MAX);
  } catch (err) {
    expect(err).toBeInstanceOf(IpcError);
    expect(['PROTOCOL', 'MESSAGE_TOO_LARGE']).toContain((err as IpcError).code);
  }
}

const samples = [
  encodeHello({
    v: 1,
    provider: 'cma',
    pid: 1234,
    handshake: { tableAddr: 0x7f00_0000_1000n, capacity: 4096 },
  }),
  encodeRendezvous({
    id: 7,
    region: { provider: 'shm', key: 0xdead_beef, addr: 0xffff_ffff_ffff_fff0n, length: 1 << 20, arena: 3 },
    crc: 0xe306_9283,
  }),
  encodeRelease({ id: 7, ok: false, reason: 'CRC32C mismatch' }),
  encodeData(Uint8Array.of(0x81, 0xa1, 0x61, 0x01)),
];

describe('rdma control frames', () => {
  it('round-trips HELLO with its handshake (u64 values: numbers while exact)', () => {
    const c = decodeControl(samples[0]!, MAX);
    expect(c).toEqual({
      kind: 'hello',
      v: 1,
      provider: 'cma',
      pid: 1234,
      handshake: { tableAddr: 0x7f00_0000_1000, capacity: 4096 },
    });
  });

  it('round-trips RENDEZVOUS with an address above 2^53', () => {
    const c = decodeControl(samples[1]!, MAX);
    expect(c).toEqual({
      kind: 'rendezvous',
      id: 7,
      region: { provider: 'shm', key: 0xdead_beef, addr: 0xffff_ffff_ffff_fff0n, length: 1 << 20, arena: 3 },
      crc: 0xe306_9283,
    });
  });

  it('round-trips RELEASE and DATA', () => {
    expect(decodeControl(samples[2]!, MAX)).toEqual({
      kind: 'release',
      id: 7,
      ok: false,
      reason: 'CRC32C mismatch',
    });
    const d = decodeControl(samples[3]!, MAX);
    expect(d.kind).toBe('data');
    expect([...(d as { message: Uint8Array }).message]).toEqual([0x81, 0xa1, 0x61, 0x01]);
  });

  it('refuses a rendezvous over the size limit with MESSAGE_TOO_LARGE', () => {
    expect(() => decodeControl(samples[1]!, 1024)).toThrowError(
      expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }),
    );
  });

  it('refuses unknown kinds, empty frames, unknown providers and wrong types with PROTOCOL', () => {
    for (const bad of [
      new Uint8Array(0),
      Uint8Array.of(0x09, 0x80),
      Uint8Array.of(KIND_RENDEZVOUS, 0xc1),
      Uint8Array.of(KIND_RENDEZVOUS, 0x90),
      encodeRendezvous({ id: 1, region: { provider: 'ib' as 'shm', key: 1, addr: 0n, length: 1 }, crc: 0 }),
      encodeRendezvous({ id: 1, region: { provider: 'cma', key: 2 ** 33, addr: 0n, length: 1 }, crc: 0 }),
      encodeRendezvous({ id: -1, region: { provider: 'cma', key: 1, addr: 0n, length: 1 }, crc: 0 }),
    ]) {
      expect(() => decodeControl(bad, MAX)).toThrowError(expect.objectContaining({ code: 'PROTOCOL' }));
    }
  });

  it('random bytes never crash the decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrIpcError(bytes)),
      { numRuns: 3000 },
    );
  });

  it('random bytes after a valid kind byte never crash the decoder', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 128 }), (kind, rest) =>
        decodesOrIpcError(Uint8Array.from([kind, ...rest])),
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames never crash the decoder', () => {
    for (const sample of samples) {
      fc.assert(
        fc.property(mutated(sample), (bytes) => decodesOrIpcError(bytes)),
        { numRuns: 1000 },
      );
    }
  });
});
