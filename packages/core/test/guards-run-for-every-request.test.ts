// RpcServer runs its guards before the method lookup and for every request, subscriptions
// included: an unauthenticated peer can neither subscribe to topics ($/subscribe) nor probe
// which methods exist (METHOD_NOT_FOUND would tell).
import { IpcError } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { rejection, rpcPair } from './util/harness.js';

describe('guards run for every request', () => {
  it('refuse a subscription and an unknown method like any other request', async () => {
    const { server, client } = await rpcPair();
    const seen: string[] = [];
    server.use((method) => {
      seen.push(method);
      throw new IpcError('AUTH', 'Authentication required');
    });
    const sub = await rejection(client.subscribe('news'));
    expect(sub.remoteCode).toBe('AUTH');
    const unknown = await rejection(client.request('no.such.method'));
    expect(unknown.remoteCode).toBe('AUTH');
    expect(seen).toEqual(['$/subscribe', 'no.such.method']);
    // The refused subscription left no topic behind: a publish reaches nobody.
    let got = 0;
    client.on('news', () => got++);
    server.publish('news', { x: 1 });
    await client.request('$/unsubscribe', { topic: 'news' }).catch(() => {});
    expect(got).toBe(0);
    for (const conn of server.connections) expect(conn.topics.size).toBe(0);
  });

  it('let allowed requests through to subscriptions and the method lookup', async () => {
    const { server, client } = await rpcPair();
    server.use(() => {});
    await client.subscribe('news');
    const err = await rejection(client.request('missing'));
    expect(err.remoteCode).toBe('METHOD_NOT_FOUND');
  });
});
