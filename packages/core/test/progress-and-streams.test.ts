/**
 * Progress and streamed results over an in-memory link (the transports' own tests run the same
 * across processes: openclaw-ipc's test/rpc-features-two-process.test.ts).
 */
import {
  defineContract,
  type IpcError,
  method,
  msgpackDialect,
  openclawJson,
  type RemoteError,
  RpcClient,
  RpcServer,
} from '@openclaw-ipc/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { delay, jsonBatchDialect, onCleanup, rejection, rpcPair, until } from './util/harness.js';
import { MemoryNetwork, MemoryReplyListener, memoryChannelConnector } from './util/memory-link.js';

const contract = defineContract({
  methods: {
    count: method<{ to: number }, AsyncIterable<number>>(),
    plain: method<{ a: number }, number>(),
  },
  events: {},
});

describe('progress', () => {
  it('onProgress receives every ctx.progress value in order, before the result', async () => {
    const { client, server } = await rpcPair();
    server.handle('work', async (_p, ctx) => {
      for (let i = 1; i <= 5; i++) {
        ctx.progress({ done: i });
        await delay(1);
      }
      return 'result';
    });
    const seen: unknown[] = [];
    let resolved = false;
    const result = await client.request('work', {}, { onProgress: (v) => seen.push(resolved ? 'late' : v) });
    resolved = true;
    expect(result).toBe('result');
    expect(seen).toEqual([1, 2, 3, 4, 5].map((done) => ({ done })));
  });

  it('nothing is sent when the caller did not ask: no event reaches the client', async () => {
    const { client, server } = await rpcPair();
    server.handle('work', (_p, ctx) => {
      ctx.progress('ignored');
      return 1;
    });
    const events: string[] = [];
    client.on('*', (_d, name) => events.push(name));
    expect(await client.request('work')).toBe(1);
    expect(await client.request('work')).toBe(1);
    expect(events).toEqual([]);
  });

  it('a dialect or channel that cannot carry progress refuses the call at once with UNSUPPORTED', async () => {
    const json = await rpcPair({ dialect: openclawJson });
    let ran = false;
    json.server.handle('work', () => {
      ran = true;
      return 1;
    });
    const err = (await rejection(json.client.request('work', {}, { onProgress: () => {} }))) as IpcError;
    expect(err.code).toBe('UNSUPPORTED');
    expect(() => json.client.stream('work')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(ran).toBe(false);

    const listener = new MemoryReplyListener();
    const server = new RpcServer({ dialect: msgpackDialect, handlers: { work: () => 1 } });
    server.serve(listener);
    const channelClient = await RpcClient.connect({
      dialect: msgpackDialect,
      channel: memoryChannelConnector(listener),
    });
    onCleanup(() => channelClient.close());
    expect((await rejection(channelClient.request('work', {}, { onProgress: () => {} }))).code).toBe(
      'UNSUPPORTED',
    );
    expect(() => channelClient.stream('work')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});

describe('streamed results', () => {
  it('yields the items of an async generator in order, typed from the contract, then ends', async () => {
    const { client, server } = await rpcPair({ client: { contract }, server: { contract } });
    server.handle('count', async function* ({ to }) {
      for (let i = 1; i <= to; i++) yield i;
    });
    const items: number[] = [];
    const stream = client.stream('count', { to: 50 });
    expectTypeOf(stream).toMatchTypeOf<AsyncIterable<number>>();
    for await (const n of stream) items.push(n);
    expect(items).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // A plain request still works next to it.
    server.handle('plain', ({ a }) => a * 2);
    expect(await client.request('plain', { a: 21 })).toBe(42);
  });

  it('a handler returning any AsyncIterable streams it; a non-iterable result is a PROTOCOL error', async () => {
    const { client, server } = await rpcPair();
    server.handle('iterable', () => ({
      async *[Symbol.asyncIterator]() {
        yield 'a';
        yield 'b';
      },
    }));
    server.handle('value', () => 7);
    const items: unknown[] = [];
    for await (const x of client.stream('iterable')) items.push(x);
    expect(items).toEqual(['a', 'b']);
    const err = (await rejection(
      (async () => {
        for await (const _ of client.stream('value'));
      })(),
    )) as RemoteError;
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('PROTOCOL');
  });

  it('the server never has more items out than the credit window the client has not taken', async () => {
    const { client, server } = await rpcPair();
    let produced = 0;
    let taken = 0;
    let worst = 0;
    server.handle('many', async function* () {
      for (let i = 0; i < 200; i++) {
        produced++;
        worst = Math.max(worst, produced - taken);
        yield i;
      }
    });
    const stream = client.stream('many', {}, { credit: 8 });
    const first = await stream.next();
    expect(first.value).toBe(0);
    taken = 1;
    // A consumer that stops taking: the generator stops at the window.
    await until(() => produced >= 8);
    await delay(30);
    expect(produced).toBeLessThanOrEqual(9);
    for await (const _ of stream) {
      taken++;
      if (taken % 10 === 0) await delay(1);
    }
    expect(taken).toBe(200);
    expect(worst).toBeLessThanOrEqual(9);
  });

  it('break, return() and an abort signal stop the generator on the server: its finally runs', async () => {
    const { client, server } = await rpcPair();
    let finallies = 0;
    server.handle('forever', async function* () {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finallies++;
      }
    });
    for await (const i of client.stream('forever')) if (i === 3) break;
    await until(() => finallies === 1);

    const it2 = client.stream('forever');
    await it2.next();
    await it2.return();
    await until(() => finallies === 2);

    const ac = new AbortController();
    const err = await rejection(
      (async () => {
        for await (const i of client.stream('forever', {}, { signal: ac.signal })) if (i === 2) ac.abort();
      })(),
    );
    expect(err.code).toBe('ABORTED');
    await until(() => finallies === 3);
    await until(() => [...server.connections][0]!.active.size === 0);
  });

  it("the server's error ends the loop with that error, after the items before it", async () => {
    const { client, server } = await rpcPair();
    server.handle('failing', async function* () {
      yield 1;
      yield 2;
      throw Object.assign(new Error('broke at 3'), {});
    });
    const items: unknown[] = [];
    const err = (await rejection(
      (async () => {
        for await (const x of client.stream('failing')) items.push(x);
      })(),
    )) as RemoteError;
    expect(items).toEqual([1, 2]);
    expect(err.code).toBe('REMOTE');
    expect(err.message).toContain('broke at 3');
  });

  it('a link lost mid-stream ends the loop with CLOSED, and the generator is stopped', async () => {
    const { client, server } = await rpcPair({ client: { reconnect: false } });
    let finallies = 0;
    server.handle('forever', async function* (_p, ctx) {
      try {
        for (let i = 0; !ctx.signal.aborted; i++) {
          yield i;
          await delay(1);
        }
      } finally {
        finallies++;
      }
    });
    const items: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const x of client.stream('forever')) {
          items.push(x);
          if (items.length === 3) for (const c of server.connections) c.close();
        }
      })(),
    );
    expect(err.code).toBe('CLOSED');
    await until(() => finallies === 1);
  });

  it('a stream timeout ends the loop with TIMEOUT and stops the generator', async () => {
    const { client, server } = await rpcPair();
    let finallies = 0;
    server.handle('slow', async function* (_p, ctx) {
      try {
        yield 1;
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      } finally {
        finallies++;
      }
    });
    const items: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const x of client.stream('slow', {}, { timeout: 50 })) items.push(x);
      })(),
    );
    expect(items).toEqual([1]);
    expect(err.code).toBe('TIMEOUT');
    await until(() => finallies === 1);
  });

  it('a credit out of range is INVALID_ARGUMENT', async () => {
    const { client } = await rpcPair();
    expect(() => client.stream('x', {}, { credit: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => client.stream('x', {}, { credit: 1.5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('a streaming method called without client.stream()', () => {
  it('answers UNSUPPORTED and closes the generator, over any dialect', async () => {
    for (const dialect of [msgpackDialect, openclawJson]) {
      const { client, server } = await rpcPair({ dialect });
      let finallies = 0;
      server.handle('gen', async function* () {
        try {
          yield 1;
          await new Promise(() => {});
        } finally {
          finallies++;
        }
      });
      const err = (await rejection(client.request('gen'))) as RemoteError;
      expect(err.message).toContain('client.stream()');
      // The crate's JSON carries no error code; ours does.
      expect(err.remoteCode).toBe(dialect === msgpackDialect ? 'UNSUPPORTED' : undefined);
      // return() on a generator that never started ends it without running its body.
      expect(finallies).toBe(0);
    }
  });
});

describe('a stream asked for inside a batch', () => {
  it('is answered UNSUPPORTED in the batch reply, and the batch’s other requests are answered', async () => {
    const dialect = { ...jsonBatchDialect, carries: { stream: true } };
    const network = new MemoryNetwork();
    const server = new RpcServer({ dialect });
    server.serve(network.listen('batch'));
    onCleanup(() => server.close());
    server.handle('one', () => 1);
    server.handle('gen', async function* () {
      yield 1;
    });
    // Our client never batches; a peer may.
    const link = await network.connector('batch')();
    const replies: unknown[] = [];
    link.attach({ onFrame: (f) => replies.push(dialect.decode(f)), onClose: () => {} });
    link.send(
      JSON.stringify([
        { id: 'a', payload: { type: 'request', method: 'one', params: {} } },
        { id: 'b', payload: { type: 'request', method: 'gen', params: {}, stream: 4 } },
      ]),
    );
    await until(() => replies.length === 1);
    const batch = replies[0] as Array<{ id: string; payload: { success: boolean; code?: string } }>;
    expect(batch).toHaveLength(2);
    expect(batch.find((r) => r.id === 'a')!.payload).toMatchObject({ success: true, result: 1 });
    expect(batch.find((r) => r.id === 'b')!.payload).toMatchObject({ success: false, code: 'UNSUPPORTED' });
    link.close();
  });
});
