/**
 * Fuzzing the shm fd-socket decoders (native/verbs/src/shm.c, shm_peer.c) with fast-check:
 * - the server's request decoder gets random and mutated requests from raw sockets: it answers
 *   with well-formed responses only (status 0, EKEY or EPROTO), hangs up after a bad one, and
 *   keeps serving real clients;
 * - the client's response decoder gets random bytes from a fake server: shmAttach rejects with
 *   a typed error (EPROTO or ESRCH), never crashes.
 */
import { createConnection, createServer } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative, type ShmServer, toIpcError } from '../src/native.js';
import { tempDir } from './fixtures/native-child.js';
import { pattern } from './fixtures/native-pattern.js';

const addon = loadNative();
const dir = tempDir('oc-rdma-fuzz-');
const path = dir.path('fuzz.shm');
let server: ShmServer;
const MAGIC = 0x4853434f;
const RC_KEY = 1;
const RC_PROTO = 11;

beforeAll(() => {
  server = addon.shmServe(path);
});
afterAll(() => {
  server.close();
  dir.remove();
});

function request(op: number, arena: number, version = 1): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(version, 4);
  b.writeUInt16LE(op, 6);
  b.writeUInt32LE(arena, 8);
  return b;
}

/**
 * Sends bytes on a raw connection and collects the answer until the server has answered every
 * complete request or hung up. (No half-close: libuv takes a hang-up after a short read, which
 * a response carrying an fd causes, for the end of the stream and would drop what follows.)
 */
function exchange(bytes: Uint8Array): Promise<Buffer> {
  const expected = Math.floor(bytes.length / 16) * 24;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s = createConnection(path);
    const done = () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.on('connect', () => s.write(bytes, () => (expected === 0 ? done() : undefined)));
    s.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got >= expected) done();
    });
    s.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? null : reject(e),
    );
    s.on('close', done);
  });
}

/** Checks the server's answer to `sent` and that a real client is still served. */
async function checkServed(sent: Uint8Array, answer: Buffer): Promise<void> {
  expect(answer.length % 24).toBe(0);
  const complete = Math.floor(sent.length / 16);
  expect(answer.length / 24).toBeLessThanOrEqual(complete);
  for (let at = 0; at < answer.length; at += 24) {
    expect(answer.readUInt32LE(at)).toBe(MAGIC);
    const status = answer.readUInt16LE(at + 6);
    expect([0, RC_KEY, RC_PROTO]).toContain(status);
    if (status === RC_PROTO) expect(at + 24).toBe(answer.length); // hung up after a bad request
  }
}

describe('shm fd socket: the server decoder under fuzzing', () => {
  it('answers random bytes with well-formed responses and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (bytes) => {
        await checkServed(bytes, await exchange(bytes));
      }),
      { numRuns: 60 },
    );
    const arena = addon.allocate(4096);
    arena.buffer.set(pattern(4096, 1));
    const region = addon.register(arena.buffer.subarray(0, 4096));
    const peer = await addon.shmAttach(path);
    const into = new Uint8Array(4096);
    await peer.read(region.key, region.addr, 4096, into, 0);
    expect(Buffer.from(into).equals(Buffer.from(pattern(4096, 1)))).toBe(true);
    peer.close();
    region.close();
    arena.close();
  });

  it('answers mutated valid requests correctly', async () => {
    const arena = addon.allocate(4096);
    const valid = [request(1, 0), request(2, arena.id), request(2, 0x7fffffff)];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...valid), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat({ max: 8 }),
        async (requests, flips, cut) => {
          const bytes = Buffer.concat(requests);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const sent = bytes.subarray(0, Math.max(0, bytes.length - cut));
          const answer = await exchange(sent);
          await checkServed(sent, answer);
          if (flips.length === 0 && cut === 0) {
            // Untouched requests: one response each, in order, with the right status.
            expect(answer.length).toBe(requests.length * 24);
            requests.forEach((r, i) => {
              const arenaId = Buffer.from(r).readUInt32LE(8);
              expect(answer.readUInt32LE(i * 24 + 8)).toBe(arenaId);
              expect(answer.readUInt16LE(i * 24 + 6)).toBe(arenaId === 0x7fffffff ? RC_KEY : 0);
            });
          }
        },
      ),
      { numRuns: 80 },
    );
    arena.close();
  });
});

describe('shm fd socket: the client decoder under fuzzing', () => {
  it('rejects attach with EPROTO or ESRCH on whatever a broken server sends', async () => {
    const fake = dir.path('fake.shm');
    let reply: Uint8Array = new Uint8Array(0);
    const srv = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(reply));
    });
    await new Promise<void>((resolve) => srv.listen(fake, resolve));
    const validHeader = (status: number) => {
      const b = Buffer.alloc(24);
      b.writeUInt32LE(MAGIC, 0);
      b.writeUInt16LE(1, 4);
      b.writeUInt16LE(status, 6);
      b.writeBigUInt64LE(4096n, 16);
      return b;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fc.constantFrom(validHeader(0), validHeader(1), validHeader(11), validHeader(999)),
        ),
        async (bytes) => {
          reply = bytes;
          const err = await addon.shmAttach(fake).then(
            () => undefined,
            (e: unknown) => e,
          );
          const e = toIpcError(err);
          expect(['EPROTO', 'ESRCH', 'EKEY', 'EIO']).toContain((e.details as { reason: string }).reason);
        },
      ),
      { numRuns: 60 },
    );
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
});
