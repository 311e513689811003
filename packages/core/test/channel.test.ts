import { IpcError, msgpackDialect, openclawJson, RpcClient, RpcServer } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { onCleanup, rejection, until } from './util/harness.js';
import { MemoryReplyListener, memoryChannelConnector } from './util/memory-link.js';

async function channelPair(clientOptions: Record<string, unknown> = {}, dialect = msgpackDialect) {
  const errors: IpcError[] = [];
  const server = new RpcServer({ dialect, onError: (e) => errors.push(e) });
  const listener = new MemoryReplyListener();
  server.serve(listener);
  const connector = memoryChannelConnector(listener);
  const client = await RpcClient.connect({ dialect, channel: connector, ...clientOptions });
  onCleanup(() => client.close());
  onCleanup(() => server.close());
  return { server, client, listener, connector, errors };
}

describe('request/reply channel mode', () => {
  it('maps requests to replies, many in flight, the channel correlating them', async () => {
    const { server, client, connector } = await channelPair();
    server.handle('echo', async (p: number) => {
      await new Promise((r) => setTimeout(r, (5 - p) * 3));
      return p * 2;
    });
    expect(await Promise.all([1, 2, 3, 4].map((i) => client.request('echo', i)))).toEqual([2, 4, 6, 8]);
    expect(connector.opened[0]!.requests).toBe(4);
    expect(client.state).toBe('open');
  });

  it('reports remote errors with their code (msgpack) or text (openclaw-ipc JSON)', async () => {
    const { server, client } = await channelPair();
    server.handle('fail', () => {
      throw new IpcError('AUTH', 'nope');
    });
    expect(await rejection(client.request('fail'))).toMatchObject({ code: 'REMOTE', remoteCode: 'AUTH' });
    const json = await channelPair({}, openclawJson);
    json.server.handle('fail', () => {
      throw new IpcError('AUTH', 'nope');
    });
    expect(await rejection(json.client.request('fail'))).toMatchObject({ code: 'REMOTE', message: 'nope' });
  });

  it('delivers notifications to server listeners', async () => {
    const { server, client } = await channelPair();
    const got: unknown[] = [];
    server.on('log', (d, ctx) => got.push([d, ctx.connection]));
    await client.notify('log', 'x');
    expect(got).toEqual([['x', undefined]]);
  });

  it('a timeout rejects TIMEOUT and aborts the transport request and the handler', async () => {
    const { server, client } = await channelPair({ timeout: 15 });
    let signal: AbortSignal | undefined;
    server.handle('hang', (_p, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    expect(await rejection(client.request('hang'))).toMatchObject({ code: 'TIMEOUT' });
    await until(() => signal?.aborted === true);
  });

  it('an AbortSignal rejects ABORTED and aborts the handler', async () => {
    const { server, client } = await channelPair();
    let signal: AbortSignal | undefined;
    server.handle('hang', (_p, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    const ac = new AbortController();
    const call = client.request('hang', {}, { signal: ac.signal });
    await until(() => signal !== undefined);
    ac.abort();
    expect(await rejection(call)).toMatchObject({ code: 'ABORTED' });
    await until(() => signal!.aborted);
  });

  it('client.close() rejects pending requests CLOSED and closes the channel', async () => {
    const { server, client, connector } = await channelPair();
    server.handle('hang', () => new Promise(() => {}));
    const calls = [rejection(client.request('hang')), rejection(client.request('hang'))];
    await until(() => connector.opened[0]!.requests === 2);
    client.close();
    for (const e of await Promise.all(calls)) expect(e).toMatchObject({ code: 'CLOSED' });
    expect(await rejection(connector.opened[0]!.request('x'))).toMatchObject({ code: 'CLOSED' });
  });

  it('after a broken channel: CLOSED for plain requests, re-sent on a new channel when idempotent', async () => {
    const { server, client, connector } = await channelPair({
      reconnect: { minDelay: 1, maxDelay: 2 },
      idempotent: ['read'],
    });
    const runs: Record<string, number> = {};
    let hold = true;
    for (const m of ['read', 'write']) {
      server.handle(m, () => {
        runs[m] = (runs[m] ?? 0) + 1;
        return hold ? new Promise(() => {}) : `${m}-ok`;
      });
    }
    const read = client.request('read');
    const write = rejection(client.request('write'));
    await until(() => runs.read === 1 && runs.write === 1);
    hold = false;
    connector.opened[0]!.break();
    expect(await write).toMatchObject({ code: 'CLOSED' });
    expect(await read).toBe('read-ok');
    expect(connector.opened).toHaveLength(2);
    expect(runs).toEqual({ read: 2, write: 1 });
  });

  it('answers an undecodable request frame with an error reply, and keeps serving', async () => {
    const { server, listener, errors } = await channelPair();
    server.handle('echo', (p) => p);
    const connector = memoryChannelConnector(listener);
    const raw = await connector();
    const reply = await raw.request(new Uint8Array([0x93, 0x01]));
    expect(msgpackDialect.decode(reply)).toMatchObject({
      payload: { type: 'response', success: false, code: 'SERIALIZATION' },
    });
    expect(errors[0]?.code).toBe('SERIALIZATION');
    const ok = await raw.request(
      msgpackDialect.encode({ id: '1', payload: { type: 'request', method: 'echo', params: 5 } }),
    );
    expect(msgpackDialect.decode(ok)).toMatchObject({ id: '1', payload: { success: true, result: 5 } });
  });

  it('server.close() aborts the handlers running for channel requests', async () => {
    const { server, client } = await channelPair({ timeout: 0 });
    let signal: AbortSignal | undefined;
    server.handle('hang', (_p, ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    void client.request('hang').catch(() => {});
    await until(() => signal !== undefined);
    await server.close();
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toMatchObject({ code: 'CLOSED' });
  });
});
