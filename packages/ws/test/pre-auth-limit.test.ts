/**
 * PreAuthLimit reads only frame headers: it reports a data message over the limit (one frame or
 * fragments summed, as ws counts), never a control frame or a message within it, however the
 * bytes are cut; after a violation it reports a flood once the peer sends more than the limit.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PreAuthLimit } from '../src/pre-auth-limit.js';
import { cut, encode, type Piece, pieceArb } from './util/frames.js';

/** The size of the first data message over `limit` in `pieces`, or undefined. */
function firstOver(pieces: Piece[], limit: number): number | undefined {
  for (const p of pieces) {
    const size =
      p.kind === 'text'
        ? Buffer.byteLength(p.data)
        : p.kind === 'binary'
          ? p.data.length
          : p.kind === 'fragments'
            ? p.parts.reduce((n, part) => n + Buffer.byteLength(part), 0)
            : 0;
    if (size > limit) return size;
  }
  return undefined;
}

function watch(limit: number) {
  const socket = new EventEmitter();
  const seen = { violation: undefined as number | undefined, floods: 0 };
  const watcher = new PreAuthLimit(
    socket as unknown as Socket,
    limit,
    (size) => {
      expect(seen.violation).toBeUndefined();
      seen.violation = size;
    },
    () => seen.floods++,
  );
  return { socket, seen, watcher };
}

describe('PreAuthLimit', () => {
  it('reports the first data message over the limit at its header, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(pieceArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        fc.constantFrom(0, 20, 125, 200),
        (pieces, at, masked, limit) => {
          const { socket, seen } = watch(limit);
          for (const chunk of cut(encode(pieces, masked), at)) socket.emit('data', chunk);
          const over = firstOver(pieces, limit);
          if (over === undefined) {
            expect(seen.violation).toBeUndefined();
            expect(seen.floods).toBe(0);
          } else {
            // Fragments are reported at the first header that takes the sum over the limit.
            expect(seen.violation).toBeGreaterThan(limit);
            expect(seen.floods).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reports a frame announced over the limit before its payload has arrived (8-byte length too)', () => {
    const { socket, seen } = watch(64 * 1024);
    // Header of a 2^32-byte binary frame, masked, and nothing of its payload.
    socket.emit('data', Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(seen.violation).toBe(2 ** 32);
  });

  it('reports a flood once more than the limit arrives after the violation, and stops watching', () => {
    const { socket, seen } = watch(100);
    socket.emit('data', Buffer.concat([Buffer.from([0x81, 0x7e, 0x01, 0x00]), Buffer.alloc(60)]));
    expect(seen.violation).toBe(256);
    socket.emit('data', Buffer.alloc(30));
    expect(seen.floods).toBe(0);
    socket.emit('data', Buffer.alloc(20));
    expect(seen.floods).toBe(1);
    expect(socket.listenerCount('data')).toBe(0);
  });

  it('stops watching when removed', () => {
    const { socket, seen, watcher } = watch(10);
    watcher.remove();
    socket.emit('data', encode([{ kind: 'text', data: 'x'.repeat(50) }], true));
    expect(seen.violation).toBeUndefined();
    expect(socket.listenerCount('data')).toBe(0);
  });
});
