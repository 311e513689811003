// client.batch() over JSON-RPC 2.0: the frame a plain `ws` peer receives (one array), replies
// answered out of order, our own server, limits, and the dialects without batches.
import { IpcError, RemoteError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connectWsClient, createWsServer, forgeDialect } from '../src/index.js';
import { onCleanup, until } from './util/raw.js';

/** A plain ws server that records each text frame and answers with `answer(frame)`, if any. */
async function rawPeer(answer: (frame: unknown) => unknown): Promise<{ url: string; frames: unknown[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  onCleanup(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const frames: unknown[] = [];
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      frames.push(frame);
      const reply = answer(frame);
      if (reply !== undefined) socket.send(JSON.stringify(reply));
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, frames };
}

describe('client.batch() over JSON-RPC 2.0', () => {
  it('sends one array frame; replies in any order reach their entries; a notification has no id', async () => {
    const peer = await rawPeer((frame) => {
      if (!Array.isArray(frame)) return undefined;
      const requests = frame.filter((m: { id?: unknown }) => m.id !== undefined);
      // Answered in reverse, the second one with an error.
      return requests
        .reverse()
        .map((m: { id: unknown; method: string; params: unknown }) =>
          m.method === 'fail'
            ? { jsonrpc: '2.0', error: { code: -32000, message: 'no', data: { why: 1 } }, id: m.id }
            : { jsonrpc: '2.0', result: { method: m.method, params: m.params }, id: m.id },
        );
    });
    const client = await connectWsClient(peer.url, { heartbeatInterval: 0 });
    onCleanup(() => client.close());
    const results = await client.batch([
      { method: 'a', params: [1] },
      { method: 'fail' },
      { method: 'told', params: { x: 1 }, notify: true },
      { method: 'b', params: { y: 2 } },
    ]);
    expect(peer.frames).toHaveLength(1);
    const sent = peer.frames[0] as Array<Record<string, unknown>>;
    expect(sent.map((m) => m.method)).toEqual(['a', 'fail', 'told', 'b']);
    for (const m of sent) expect(m.jsonrpc).toBe('2.0');
    expect(sent[2]).not.toHaveProperty('id');
    expect(new Set(sent.filter((m) => 'id' in m).map((m) => m.id)).size).toBe(3);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { method: 'a', params: [1] } });
    expect(results[1]!.status).toBe('rejected');
    const error = (results[1] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'REMOTE', remoteCode: -32000, message: 'no' });
    expect(results[2]).toEqual({ status: 'fulfilled', value: undefined });
    expect(results[3]).toEqual({ status: 'fulfilled', value: { method: 'b', params: { y: 2 } } });
    expect(client.inFlight).toBe(0);
  });

  it('against our server: the handlers run, a notification reaches server.on', async () => {
    const { server, address } = await createWsServer({ heartbeatInterval: 0 });
    onCleanup(() => server.close());
    server.handle('double', (n: number) => n * 2);
    const notes: unknown[] = [];
    server.on('note', (d) => {
      notes.push(d);
    });
    const client = await connectWsClient(address, { heartbeatInterval: 0 });
    onCleanup(() => client.close());
    const results = await client.batch([
      { method: 'double', params: 2 },
      { method: 'note', params: 'hi', notify: true },
      { method: 'double', params: 21 },
    ]);
    expect(results.map((r) => (r as PromiseFulfilledResult<unknown>).value)).toEqual([4, undefined, 42]);
    await until(() => notes.length === 1);
    expect(notes).toEqual(['hi']);
    expect(server.stats()).toMatchObject({ total: 2, errors: {} });
  });

  it('a timeout applies to each request of the batch', async () => {
    const peer = await rawPeer((frame) => {
      // After the timeout the client also sends $/cancelRequest for the unanswered one.
      if (!Array.isArray(frame)) return undefined;
      const [first] = frame as Array<{ id: unknown }>;
      return [{ jsonrpc: '2.0', result: 'quick', id: first!.id }];
    });
    const client = await connectWsClient(peer.url, { heartbeatInterval: 0 });
    onCleanup(() => client.close());
    const results = await client.batch([{ method: 'quick' }, { method: 'never' }], { timeout: 100 });
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'quick' });
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'TIMEOUT' });
    await until(() => peer.frames.length === 2);
    expect(peer.frames[1]).toMatchObject({
      method: '$/cancelRequest',
      params: { id: (peer.frames[0] as Array<{ id: unknown }>)[1]!.id },
    });
  });

  it('a batch over maxMessageSize sends nothing: every entry rejects MESSAGE_TOO_LARGE', async () => {
    const peer = await rawPeer(() => undefined);
    const client = await connectWsClient(peer.url, { heartbeatInterval: 0, maxMessageSize: 1000 });
    onCleanup(() => client.close());
    const big = 'x'.repeat(400);
    const results = await client.batch([
      { method: 'a', params: big },
      { method: 'b', params: big },
      { method: 'c', params: big, notify: true },
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    }
    expect(client.inFlight).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.frames).toEqual([]);
  });

  it('an empty batch is INVALID_ARGUMENT; a dialect without batches (forge) is UNSUPPORTED', async () => {
    const peer = await rawPeer(() => undefined);
    const client = await connectWsClient(peer.url, { heartbeatInterval: 0 });
    onCleanup(() => client.close());
    await expect(client.batch([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const forge = await connectWsClient(peer.url, { heartbeatInterval: 0, dialect: forgeDialect });
    onCleanup(() => forge.close());
    const refused = await forge.batch([{ method: 'a' }]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IpcError);
    expect(refused).toMatchObject({ code: 'UNSUPPORTED', details: { feature: 'batch' } });
    expect(peer.frames).toEqual([]);
  });
});
