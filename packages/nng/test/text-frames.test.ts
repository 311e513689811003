// Text dialects over nng receive their frames as strings (receiveText, the addon's setText):
// valid UTF-8 arrives as a string (ASCII or not), anything else as bytes, which the dialect
// rejects as before; and the RPC listener answers each request once (serveTokens).
import { IpcError } from '@openclaw-ipc/core';
import { afterAll, describe, expect, it } from 'vitest';
import { NngReplyListener, NngRequestChannel } from '../src/channel.js';
import { connectNng, listenNng, RepSocket, ReqSocket } from '../src/index.js';
import { address, cleanupAddresses } from './helpers.js';

afterAll(cleanupAddresses);

describe('text frames', () => {
  it('delivers valid UTF-8 as strings and anything else as bytes', async () => {
    const url = address('ipc');
    const rep = new RepSocket();
    rep.listen(url);
    rep.serve((data, reply) => reply(data));
    const req = new ReqSocket();
    req.receiveText(true);
    try {
      await req.dial(url);
      expect(await req.request('plain ascii')).toBe('plain ascii');
      expect(await req.request('é – 😀 ✓')).toBe('é – 😀 ✓');
      expect(await req.request('')).toBe('');
      for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
        const reply = await req.request(Buffer.from(bad));
        expect(Buffer.isBuffer(reply)).toBe(true);
        expect([...(reply as unknown as Buffer)]).toEqual(bad);
      }
      const big = 'x'.repeat(100_000);
      expect(await req.request(big)).toBe(big);
    } finally {
      req.close();
      rep.close();
    }
  });

  it('keeps bytes on sockets that did not ask for text', async () => {
    const url = address('ipc');
    const rep = new RepSocket();
    rep.listen(url);
    rep.serve((data, reply) => reply(data));
    const req = new ReqSocket();
    try {
      await req.dial(url);
      expect(Buffer.isBuffer(await req.request('text'))).toBe(true);
    } finally {
      req.close();
      rep.close();
    }
  });

  it('round-trips non-ASCII JSON over RPC and rejects a reply that is not UTF-8 with a typed error', async () => {
    const url = address('ipc');
    const server = await listenNng(url, { handlers: { echo: (p: unknown) => p } });
    const client = await connectNng(url);
    try {
      const params = { s: 'ünïcødé ✓ 😀', n: [1, 2, 3] };
      expect(await client.request('echo', params)).toEqual(params);
    } finally {
      client.close();
      await server.close();
    }
    // A REP peer that answers with bytes that are not UTF-8.
    const url2 = address('ipc');
    const rep = new RepSocket();
    rep.listen(url2);
    rep.serve((_data, reply) => reply(Buffer.from([0x7b, 0xff, 0x7d])));
    const client2 = await connectNng(url2);
    try {
      const err = await client2.request('echo', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IpcError);
      expect((err as IpcError).code).toBe('SERIALIZATION');
    } finally {
      client2.close();
      rep.close();
    }
  });

  it('answers a request once when the listener is told twice, and the next request gets its own reply', async () => {
    const url = address('ipc');
    const listener = await NngReplyListener.listen(url, { maxConcurrent: 1 }, '', true);
    listener.onRequest((frame, reply) => {
      reply(`first:${frame}`);
      reply(`second:${frame}`);
    });
    const channel = await NngRequestChannel.connect(url, {}, undefined, true);
    try {
      expect(await channel.request('a')).toBe('first:a');
      expect(await channel.request('b')).toBe('first:b');
    } finally {
      channel.close();
      await listener.close();
    }
  });
});
