/**
 * Interceptors on both ends, over the in-memory link: the order (onion), what they see, what
 * they may replace, and the retry of idempotent methods with the reconnect policy's backoff.
 * End to end across processes: openclaw-ipc's test/interceptors-two-process.test.ts.
 */
import {
  type ClientCall,
  defineContract,
  IpcError,
  interceptStream,
  RemoteError,
  retryIdempotent,
  type ServerCall,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { rejection, rpcPair } from './util/harness.js';

describe('server interceptors', () => {
  it('run around the handler in the order added, the first outermost, and see params, result and duration', async () => {
    const seen: string[] = [];
    const durations: number[] = [];
    const { server, client } = await rpcPair();
    server.handle('add', (p: { a: number; b: number }) => {
      seen.push('handler');
      return p.a + p.b;
    });
    server.intercept(async (call: ServerCall, next) => {
      seen.push(`outer in ${call.method} ${JSON.stringify(call.params)}`);
      const result = await next();
      durations.push(performance.now() - call.startedAt);
      seen.push(`outer out ${String(result)}`);
      return result;
    });
    server.intercept(async (_call, next) => {
      seen.push('inner in');
      const result = await next();
      seen.push('inner out');
      return result;
    });
    expect(await client.request('add', { a: 2, b: 3 })).toBe(5);
    expect(seen).toEqual(['outer in add {"a":2,"b":3}', 'inner in', 'handler', 'inner out', 'outer out 5']);
    expect(durations).toHaveLength(1);
    expect(durations[0]).toBeGreaterThanOrEqual(0);
  });

  it('may replace the result, and replace an error with another that the caller receives with its code', async () => {
    const { server, client } = await rpcPair();
    server.handle('n', () => 1);
    server.handle('boom', () => {
      throw new Error('secret internals');
    });
    server.intercept(async (call, next) => {
      try {
        const r = (await next()) as number;
        return r + 100;
      } catch (err) {
        expect(err).toBeInstanceOf(RemoteError);
        expect((err as RemoteError).remoteCode).toBe('INTERNAL');
        throw new IpcError('UNAVAILABLE', `${call.method} failed`);
      }
    });
    expect(await client.request('n')).toBe(101);
    const err = await rejection(client.request('boom'));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.remoteCode).toBe('UNAVAILABLE');
    expect(err.message).toBe('boom failed');
  });

  it('see guard refusals and unknown methods as the errors the caller gets', async () => {
    const codes: unknown[] = [];
    const { server, client } = await rpcPair();
    server.handle('open', () => 'ok');
    server.use((method) => {
      if (method === 'closed') throw new IpcError('AUTH', 'no');
    });
    server.intercept(async (_call, next) => {
      try {
        return await next();
      } catch (err) {
        codes.push(err instanceof RemoteError ? err.remoteCode : (err as IpcError).code);
        throw err;
      }
    });
    expect((await rejection(client.request('closed'))).remoteCode).toBe('AUTH');
    expect((await rejection(client.request('nope'))).remoteCode).toBe('METHOD_NOT_FOUND');
    expect(await client.request('open')).toBe('ok');
    expect(codes).toEqual(['AUTH', 'METHOD_NOT_FOUND']);
  });

  it('run the handler once: a second next() is INVALID_ARGUMENT', async () => {
    let runs = 0;
    const { server, client } = await rpcPair({
      server: {
        handlers: { once: () => ++runs },
        interceptors: [
          async (_c, next) => {
            await next();
            return next();
          },
        ],
      },
    });
    const err = await rejection(client.request('once'));
    expect(err.remoteCode).toBe('INVALID_ARGUMENT');
    expect(runs).toBe(1);
    expect(server.stats().errors).toEqual({ INVALID_ARGUMENT: 1 });
  });

  it('see the contract params schema failure as PROTOCOL', async () => {
    const contract = defineContract({
      methods: {
        sq: {
          params: {
            '~standard': {
              version: 1,
              vendor: 'test',
              validate: (v: unknown) =>
                typeof v === 'number' ? { value: v } : { issues: [{ message: 'not a number' }] },
            },
          },
        },
      },
      events: {},
    } as never);
    const codes: string[] = [];
    const { server, client } = await rpcPair({ client: { contract }, server: { contract } });
    server.handle('sq' as never, ((n: number) => n * n) as never);
    server.intercept(async (_c, next) => {
      try {
        return await next();
      } catch (err) {
        codes.push((err as IpcError).code);
        throw err;
      }
    });
    expect(await client.request('sq' as never, 4 as never)).toBe(16);
    expect((await rejection(client.request('sq' as never, 'x' as never))).remoteCode).toBe('PROTOCOL');
    expect(codes).toEqual(['PROTOCOL']);
  });
});

describe('client interceptors', () => {
  it('run around request and notify in order, may change params (auth metadata) and see the kind', async () => {
    const seen: string[] = [];
    const notified: unknown[] = [];
    const { server, client } = await rpcPair();
    server.handle('whoami', (p: { token?: string }) => p.token ?? 'anonymous');
    server.on('note', (data) => notified.push(data));
    client.intercept((call: ClientCall, next) => {
      seen.push(`log ${call.kind} ${call.method}`);
      return next();
    });
    client.intercept((call, next) => next({ ...call, params: { ...(call.params as object), token: 't-1' } }));
    expect(await client.request('whoami', {})).toBe('t-1');
    await client.notify('note', { x: 1 });
    await expect.poll(() => notified).toEqual([{ x: 1, token: 't-1' }]);
    expect(seen).toEqual(['log request whoami', 'log notify note']);
  });

  it('may replace a result and turn a synchronous throw into a rejection', async () => {
    const { server, client } = await rpcPair();
    server.handle('v', () => 1);
    client.intercept(async (call, next) => {
      if (call.method === 'forbidden') throw new IpcError('AUTH', 'not from here');
      return ((await next()) as number) * 10;
    });
    expect(await client.request('v')).toBe(10);
    const err = await rejection(client.request('forbidden'));
    expect(err.code).toBe('AUTH');
    expect(server.stats().total).toBe(1);
  });

  it('pass a stream call through: interceptStream gives an AsyncIterable whether a layer returns one or a promise of one', async () => {
    const { client } = await rpcPair();
    const call: ClientCall = {
      kind: 'stream',
      method: 'items',
      params: {},
      options: undefined,
      idempotent: false,
      client,
    };
    async function* source() {
      yield 1;
      yield 2;
    }
    const kinds: string[] = [];
    const passThrough = interceptStream(
      [
        (c, next) => {
          kinds.push(c.kind);
          return next();
        },
      ],
      call,
      () => source(),
    );
    const asyncLayer = interceptStream([async (_c, next) => next()], call, () => source());
    const got: unknown[] = [];
    for await (const x of passThrough) got.push(x);
    for await (const x of asyncLayer) got.push(x);
    expect(got).toEqual([1, 2, 1, 2]);
    expect(kinds).toEqual(['stream']);
  });

  it('retryIdempotent sends an idempotent request again after a transient error, not others', async () => {
    let calls = 0;
    const { server, client } = await rpcPair({
      client: {
        idempotent: ['flaky'],
        reconnect: { minDelay: 1, maxDelay: 5 },
        interceptors: [retryIdempotent({ maxAttempts: 3 })],
      },
    });
    server.handle('flaky', () => {
      if (++calls < 3) throw new IpcError('CAPACITY', 'busy');
      return calls;
    });
    let other = 0;
    server.handle('mutate', () => {
      other++;
      throw new IpcError('CAPACITY', 'busy');
    });
    expect(await client.request('flaky')).toBe(3);
    expect((await rejection(client.request('mutate'))).remoteCode).toBe('CAPACITY');
    expect(other).toBe(1);
    // Per call, the flag makes any method idempotent; the attempts are bounded.
    const err = await rejection(client.request('mutate', {}, { idempotent: true }));
    expect(err.remoteCode).toBe('CAPACITY');
    expect(other).toBe(4);
    expect(client.stats().total).toBe(7);
  });

  it('retryIdempotent does not retry a non-transient error, and refuses unknown options', async () => {
    let calls = 0;
    const { server, client } = await rpcPair({
      client: { interceptors: [retryIdempotent({ backoff: { minDelay: 1, maxDelay: 2 } })] },
    });
    server.handle('auth', () => {
      calls++;
      throw new IpcError('AUTH', 'no');
    });
    expect((await rejection(client.request('auth', {}, { idempotent: true }))).remoteCode).toBe('AUTH');
    expect(calls).toBe(1);
    expect(() => retryIdempotent({ maxAttemps: 2 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => retryIdempotent({ maxAttempts: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
