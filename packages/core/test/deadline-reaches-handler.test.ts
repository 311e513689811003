/**
 * Deadlines reach the server: a request carries the time its caller still waits (`timeoutMs`),
 * the handler sees it as `ctx.deadline`, and its `ctx.signal` aborts with TIMEOUT at it — by the
 * server's own timer, and by the cancel the client sends when it times out. `maxHandlerTime`
 * caps every handler. A dialect that cannot carry the field (the openclaw-ipc crate's JSON)
 * sends the same bytes as before.
 */
import {
  type HandlerContext,
  IpcError,
  msgpackDialect,
  openclawJson,
  type RemoteError,
  RpcClient,
  RpcServer,
  sleep,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { onCleanup, rejection, rpcPair, until } from './util/harness.js';
import {
  type MemoryLink,
  MemoryNetwork,
  MemoryReplyListener,
  memoryChannelConnector,
} from './util/memory-link.js';

/** A handler that waits for its signal and records why it aborted. */
function waitForAbort(seen: { reason?: unknown; deadline?: number }) {
  return (_p: unknown, ctx: HandlerContext) =>
    new Promise<never>((_resolve, reject) => {
      seen.deadline = ctx.deadline;
      ctx.signal.addEventListener('abort', () => {
        seen.reason = ctx.signal.reason;
        reject(ctx.signal.reason);
      });
    });
}

/**
 * A server on the in-memory network and a raw link to it (no client: no cancel can be what aborts
 * a handler), with the replies it reads, decoded.
 */
async function rawServer(name: string) {
  const network = new MemoryNetwork();
  const server = new RpcServer({ dialect: msgpackDialect });
  server.serve(network.listen(name));
  onCleanup(() => server.close());
  const link = await network.connector(name)();
  const replies: unknown[] = [];
  link.attach({ onFrame: (f) => replies.push(msgpackDialect.decode(f)), onClose: () => {} });
  return { server, link, replies };
}

describe('deadlines reach the handler', () => {
  it('a request carries its timeout as ctx.deadline (Date.now() ms), not over a dialect without the field', async () => {
    const { client, server } = await rpcPair();
    server.handle('deadline', (_p, ctx) => ctx.deadline ?? null);
    const before = Date.now();
    const deadline = (await client.request('deadline', {}, { timeout: 60_000 })) as number;
    expect(deadline).toBeGreaterThanOrEqual(before + 59_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 60_000 + 5);
    expect(await client.request('deadline', {}, { timeout: 0 })).toBeNull();

    const json = await rpcPair({ dialect: openclawJson });
    json.server.handle('deadline', (_p, ctx) => ctx.deadline ?? null);
    expect(await json.client.request('deadline', {}, { timeout: 60_000 })).toBeNull();
  });

  it("the server aborts the handler's signal with TIMEOUT at the caller's deadline, by its own timer", async () => {
    // A raw link sends the request, so that no cancel from a client can be what aborts it.
    const { server, link, replies } = await rawServer('raw');
    const seen: { reason?: unknown; deadline?: number } = {};
    server.handle('wait', waitForAbort(seen));
    link.send(
      msgpackDialect.encode({
        id: 'r1',
        payload: { type: 'request', method: 'wait', params: {}, timeoutMs: 30 },
      }),
    );
    await until(() => replies.length === 1);
    expect(IpcError.is(seen.reason, 'TIMEOUT')).toBe(true);
    expect(replies[0]).toMatchObject({ id: 'r1', payload: { success: false, code: 'TIMEOUT' } });
    link.close();
  });

  it('a handler that fails its own way when its deadline aborts it (sleep: ABORTED) is answered TIMEOUT', async () => {
    const { server, link, replies } = await rawServer('raw-sleep');
    server.handle('sleep', async (_p, ctx) => {
      await sleep(5000, ctx.signal);
      return 'woke';
    });
    server.handle('fail', async (_p, ctx) => {
      await sleep(1, ctx.signal);
      throw new IpcError('ABORTED', 'its own reason');
    });
    link.send(
      msgpackDialect.encode({
        id: 's1',
        payload: { type: 'request', method: 'sleep', params: {}, timeoutMs: 30 },
      }),
    );
    // Within its deadline, a handler's own error is what the caller gets.
    link.send(
      msgpackDialect.encode({
        id: 'f1',
        payload: { type: 'request', method: 'fail', params: {}, timeoutMs: 5000 },
      }),
    );
    await until(() => replies.length === 2);
    expect(replies).toContainEqual(
      expect.objectContaining({
        id: 's1',
        payload: expect.objectContaining({ success: false, code: 'TIMEOUT' }),
      }),
    );
    expect(replies).toContainEqual(
      expect.objectContaining({
        id: 'f1',
        payload: expect.objectContaining({ success: false, code: 'ABORTED' }),
      }),
    );
    link.close();
  });

  it("the server's TIMEOUT read before the client's own timer ran (both due) is the caller's TIMEOUT, not REMOTE", async () => {
    // The server end is driven by hand: it answers TIMEOUT once the caller's deadline has passed,
    // and the answer is delivered (a microtask) before the event loop reaches the client's timer.
    const network = new MemoryNetwork();
    const listener = network.listen('late');
    const ends: MemoryLink[] = [];
    listener.onLink((link) => {
      ends.push(link as MemoryLink);
      link.attach({ onFrame: () => {}, onClose: () => {} });
    });
    const client = await RpcClient.connect({
      dialect: msgpackDialect,
      link: network.connector('late'),
      reconnect: false,
    });
    onCleanup(() => client.close());
    const pending = rejection(client.request('wait', {}, { timeout: 30 }));
    await until(() => ends.length === 1 && ends[0]!.peer.sent.length === 1);
    const { id } = msgpackDialect.decode(ends[0]!.peer.sent[0]!) as { id: string };
    const end = performance.now() + 60;
    while (performance.now() < end) {
      // the caller's deadline passes while this thread is busy
    }
    ends[0]!.send(
      msgpackDialect.encode({
        id,
        payload: {
          type: 'response',
          success: false,
          result: null,
          error: 'deadline reached',
          code: 'TIMEOUT',
        },
      }),
    );
    const err = await pending;
    expect(err.code).toBe('TIMEOUT');
    expect(err).not.toHaveProperty('remoteCode');
  });

  it("a remote TIMEOUT before the caller's deadline (the server's maxHandlerTime) stays REMOTE", async () => {
    const { client, server } = await rpcPair({ server: { maxHandlerTime: 20 } });
    server.handle('wait', waitForAbort({}));
    const err = (await rejection(client.request('wait', {}, { timeout: 10_000 }))) as RemoteError;
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('TIMEOUT');
  });

  it('a client that times out sends the cancel, and the handler sees TIMEOUT (dialect without the deadline field)', async () => {
    const noDeadline = { ...msgpackDialect, carries: { progress: true, stream: true } };
    const { client, server } = await rpcPair({ dialect: noDeadline });
    const seen: { reason?: unknown; deadline?: number } = {};
    server.handle('wait', waitForAbort(seen));
    const err = await rejection(client.request('wait', {}, { timeout: 30 }));
    expect(err.code).toBe('TIMEOUT');
    expect(seen.deadline).toBeUndefined();
    await until(() => seen.reason !== undefined);
    expect(IpcError.is(seen.reason, 'TIMEOUT')).toBe(true);
  });

  it('maxHandlerTime aborts any handler with TIMEOUT, even when the caller waits longer', async () => {
    const { client, server } = await rpcPair({ server: { maxHandlerTime: 40 } });
    const seen: { reason?: unknown; deadline?: number } = {};
    server.handle('wait', waitForAbort(seen));
    const err = (await rejection(client.request('wait', {}, { timeout: 0 }))) as RemoteError;
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('TIMEOUT');
    expect(typeof seen.deadline).toBe('number');
    // The cap, not the caller, set the deadline: a fast handler is not touched by it.
    server.handle('quick', async () => 'done');
    expect(await client.request('quick', {}, { timeout: 0 })).toBe('done');
  });

  it('an aborted caller still cancels with ABORTED (not TIMEOUT)', async () => {
    const { client, server } = await rpcPair();
    const seen: { reason?: unknown } = {};
    server.handle('wait', waitForAbort(seen));
    const ac = new AbortController();
    const pending = rejection(client.request('wait', {}, { signal: ac.signal }));
    await until(() => server.connections.values().next().value?.active.size === 1);
    ac.abort();
    expect((await pending).code).toBe('ABORTED');
    await until(() => seen.reason !== undefined);
    expect(IpcError.is(seen.reason, 'ABORTED')).toBe(true);
  });

  it('an openclaw-ipc JSON request is byte-for-byte the crate’s, whatever the timeout', () => {
    const frame = openclawJson.encode({
      id: 'x',
      payload: { type: 'request', method: 'm', params: {}, timeoutMs: 500, progress: true, stream: 4 },
    });
    expect(frame).toBe('{"id":"x","payload":{"type":"request","method":"m","params":{}}}');
  });
});

describe('maxHandlerTime over a request/reply channel', () => {
  it('aborts the handler with TIMEOUT and sets ctx.deadline, though the dialect carries no deadline', async () => {
    const listener = new MemoryReplyListener();
    const server = new RpcServer({ dialect: openclawJson, maxHandlerTime: 40 });
    server.serve(listener);
    onCleanup(() => server.close());
    const seen: { reason?: unknown; deadline?: number } = {};
    server.handle('wait', waitForAbort(seen));
    server.handle('quick', (_p, ctx) => ctx.deadline ?? null);
    const client = await RpcClient.connect({
      dialect: openclawJson,
      channel: memoryChannelConnector(listener),
    });
    onCleanup(() => client.close());
    const err = (await rejection(client.request('wait', {}, { timeout: 0 }))) as RemoteError;
    expect(err.code).toBe('REMOTE');
    expect(err.message).toContain('deadline');
    expect(IpcError.is(seen.reason, 'TIMEOUT')).toBe(true);
    expect(typeof seen.deadline).toBe('number');
    expect(typeof (await client.request('quick'))).toBe('number');
  });
});
