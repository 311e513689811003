// Hostile peers: a raw TCP socket that completes the SP handshake (docs/wire-formats.md, "nng's SP framing") and then
// misbehaves, and fuzzed request bodies. The server answers with typed errors or drops the
// offending connection, and keeps serving everyone else.
import { connect, type Socket } from 'node:net';
import { IpcError, type RpcServer } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNng, IpcTransport, listenNng, ReqSocket } from '../src/index.js';
import { address, cleanupAddresses, sleep } from './helpers.js';

const REQ = 0x30;
const REP = 0x31;
const handshake = (proto: number) =>
  Buffer.from([0x00, 0x53, 0x50, 0x00, proto >> 8, proto & 0xff, 0x00, 0x00]);

/** One tcp:// SP message: u64 big-endian length, then header and body. */
function spFrame(header: Buffer, body: Buffer): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(header.length + body.length));
  return Buffer.concat([len, header, body]);
}

const requestId = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 | n) >>> 0);
  return b;
};

/** A raw SP peer over node:net that reads whole replies. */
class RawPeer {
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  static async open(url: string): Promise<RawPeer> {
    const { hostname, port } = new URL(url.replace('tcp://', 'http://'));
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const peer = new RawPeer(socket);
    socket.write(handshake(REQ));
    expect(await peer.read(8)).toEqual(handshake(REP));
    return peer;
  }

  async read(n: number, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.buffered.length < n) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('read timed out');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return Buffer.from(out);
  }

  async readMessage(): Promise<{ header: Buffer; body: Buffer }> {
    const len = Number((await this.read(8)).readBigUInt64BE());
    const payload = await this.read(len);
    return { header: payload.subarray(0, 4), body: payload.subarray(4) };
  }

  async waitClosed(ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await sleep(10);
    return this.closed;
  }
}

let url: string;
let server: RpcServer;
const serverErrors: IpcError[] = [];

beforeAll(async () => {
  url = address('tcp');
  server = await listenNng(url, {
    handlers: { add: (p: { a: number; b: number }) => p.a + p.b },
    onError: (e: IpcError) => serverErrors.push(e),
  });
});

afterAll(async () => {
  await server.close();
  cleanupAddresses();
});

async function stillServes(): Promise<void> {
  const client = await connectNng(url);
  expect(await client.request('add', { a: 1, b: 2 })).toBe(3);
  client.close();
}

describe('a raw socket after the SP handshake', () => {
  it('junk body: answered with a typed error response on the same request id', async () => {
    const peer = await RawPeer.open(url);
    peer.socket.write(spFrame(requestId(7), Buffer.from('{"this is": not json')));
    const reply = await peer.readMessage();
    expect(reply.header).toEqual(requestId(7));
    const msg = JSON.parse(String(reply.body));
    expect(msg.payload).toMatchObject({ type: 'response', success: false, result: null });
    expect(typeof msg.payload.error).toBe('string');
    const last = serverErrors.at(-1);
    expect(last).toBeInstanceOf(IpcError);
    expect(['SERIALIZATION', 'PROTOCOL']).toContain(last!.code);
    // The raw peer can go on with a valid request on the same connection.
    const ok = JSON.stringify({
      id: 'r1',
      payload: { type: 'request', method: 'add', params: { a: 20, b: 22 } },
    });
    peer.socket.write(spFrame(requestId(8), Buffer.from(ok)));
    const second = await peer.readMessage();
    expect(JSON.parse(String(second.body))).toEqual({
      id: 'r1',
      payload: { type: 'response', success: true, result: 42, error: null },
    });
    peer.socket.destroy();
    await stillServes();
  });

  it('a header without the end-of-backtrace bit is dropped; a length over the limit drops the connection', async () => {
    const peer = await RawPeer.open(url);
    peer.socket.write(spFrame(Buffer.from([0, 0, 0, 1]), Buffer.alloc(0)));
    await sleep(100);
    await stillServes();
    const huge = Buffer.alloc(8);
    huge.writeBigUInt64BE(1n << 40n);
    peer.socket.write(huge);
    expect(await peer.waitClosed()).toBe(true);
    await stillServes();
  });

  it('fuzz: random bytes after the handshake never stop the server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (junk) => {
        const peer = await RawPeer.open(url);
        peer.socket.write(junk);
        await sleep(5);
        peer.socket.destroy();
      }),
      { numRuns: 40 },
    );
    await stillServes();
  }, 60_000);
});

describe('fuzzed request bodies through a REQ socket', () => {
  it('every body gets an openclaw-ipc response; undecodable ones a typed failure', async () => {
    const req = new ReqSocket();
    await req.dial(url);
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
      fc.json().map((s) => Buffer.from(s)),
      // Mutations of a valid request.
      fc.tuple(fc.nat(80), fc.string({ maxLength: 4 })).map(([at, ins]) => {
        const valid = '{"id":"x","payload":{"type":"request","method":"add","params":{"a":1,"b":2}}}';
        return Buffer.from(valid.slice(0, at) + ins + valid.slice(at + ins.length));
      }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const reply = JSON.parse(String(await req.request(b, { timeout: 5000 })));
        expect(Object.keys(reply)).toEqual(['id', 'payload']);
        expect(reply.payload.type).toBe('response');
        expect(typeof reply.payload.success).toBe('boolean');
        if (!reply.payload.success) expect(typeof reply.payload.error).toBe('string');
      }),
      { numRuns: 300 },
    );
    req.close();
    await stillServes();
  }, 60_000);
});

describe('IpcTransport server decoder', () => {
  it('fuzz: junk is answered with an error response, valid requests reach recv()', async () => {
    const url = address('ipc');
    const server = await IpcTransport.server(url);
    // Answers every request that decodes, until the server closes.
    const serving = (async () => {
      for (;;) {
        const m = await server.recv({ timeout: -1 }).catch(() => undefined);
        if (!m) return;
        await server.send({
          id: m.id,
          payload: { type: 'response', success: true, result: 'seen', error: null },
        });
      }
    })();
    const req = new ReqSocket();
    await req.dial(url);
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.json().map((s) => Buffer.from(s)),
      fc.tuple(fc.nat(70), fc.string({ maxLength: 3 })).map(([at, ins]) => {
        const valid = '{"id":"x","payload":{"type":"request","method":"m","params":{}}}';
        return Buffer.from(valid.slice(0, at) + ins + valid.slice(at + ins.length));
      }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const reply = JSON.parse(String(await req.request(b, { timeout: 5000 })));
        expect(reply.payload.type).toBe('response');
        if (reply.payload.success) expect(reply.payload.result).toBe('seen');
        else expect(typeof reply.payload.error).toBe('string');
      }),
      { numRuns: 200 },
    );
    req.close();
    server.close();
    await serving;
  }, 60_000);
});
