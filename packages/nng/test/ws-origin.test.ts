/**
 * Browser pages and nng's ws:// listeners: a page can open a WebSocket with nng's subprotocol and
 * send SP requests, so a connection whose upgrade carries an Origin not in `allowedOrigins` is
 * closed before it joins the socket (no request of it is handled); nng peers send no Origin.
 * The "browser" here is the ws package sending what a browser sends.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { listenNng, RepSocket, ReqSocket } from '../src/index.js';
import { address, cleanupAddresses } from './helpers.js';

afterAll(cleanupAddresses);

/** A REP server on a fresh ws:// address echoing what it gets; `seen` lists the requests handled. */
function echoServer(allowedOrigins?: string[]) {
  const url = address('ws');
  const rep = new RepSocket();
  rep.listen(url, { allowedOrigins });
  const seen: string[] = [];
  rep.serve((data, reply) => {
    seen.push(data.toString());
    reply(data);
  });
  return { url, rep, seen };
}

/**
 * One SP request over a raw WebSocket, as a page would send it (nng's subprotocol for a REP
 * listener, REQ's 4-byte request id with the high bit set, then the body). Resolves with the reply's body, or 'closed' when the server
 * drops the connection first.
 */
function requestAsPage(url: string, body: string, origin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'rep.sp.nanomsg.org', origin ? { origin } : {});
    ws.binaryType = 'nodebuffer';
    const timer = setTimeout(() => reject(new Error('no reply and no close')), 5000);
    const done = (value: string) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(value);
    };
    ws.on('open', () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(0x80000001);
      ws.send(Buffer.concat([header, Buffer.from(body)]));
    });
    ws.on('message', (data: Buffer) => done(data.subarray(4).toString()));
    ws.on('close', () => done('closed'));
    ws.on('error', () => done('closed'));
  });
}

describe('nng ws:// listener and browser origins', () => {
  it('a page of a foreign origin is disconnected and its request never handled', async () => {
    const { url, rep, seen } = echoServer();
    expect(await requestAsPage(url, 'from evil', 'https://evil.example')).toBe('closed');
    expect(seen).toEqual([]);
    rep.close();
  });

  it('a client that sends no Origin is served (the raw client speaks SP correctly)', async () => {
    const { url, rep, seen } = echoServer();
    expect(await requestAsPage(url, 'no origin')).toBe('no origin');
    expect(seen).toEqual(['no origin']);
    rep.close();
  });

  it('an origin in allowedOrigins is served; others are still disconnected', async () => {
    const { url, rep } = echoServer(['https://app.example']);
    expect(await requestAsPage(url, 'listed', 'https://app.example')).toBe('listed');
    expect(await requestAsPage(url, 'other', 'https://other.example')).toBe('closed');
    rep.close();
  });

  it("'*' serves every origin", async () => {
    const { url, rep } = echoServer(['*']);
    expect(await requestAsPage(url, 'any', 'https://evil.example')).toBe('any');
    rep.close();
  });

  it('an nng REQ client over ws:// is served, and listenNng passes allowedOrigins through', async () => {
    const url = address('ws');
    const server = await listenNng(`nng+${url}`, {
      allowedOrigins: ['https://app.example'],
      handlers: { echo: (p: unknown) => p },
    });
    expect(await requestAsPage(url, '{}', 'https://evil.example')).toBe('closed');
    const req = new ReqSocket();
    await req.dial(url);
    const reply = await req.request(
      JSON.stringify({ id: '1', payload: { type: 'request', method: 'echo', params: 7 } }),
      {
        timeout: 5000,
      },
    );
    expect(JSON.parse(reply.toString()).payload).toMatchObject({
      type: 'response',
      success: true,
      result: 7,
    });
    req.close();
    await server.close();
  });

  it('a malformed allowedOrigins is INVALID_ARGUMENT', () => {
    const rep = new RepSocket();
    expect(() => rep.listen(address('ws'), { allowedOrigins: ['https://*.example'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    rep.close();
  });
});
