/**
 * Compile-time checks: client.request/notify/on and server.handle/emit/publish/on and the
 * handlers option are typed from defineContract. `tsc -b`
 * fails when a type is wrong; the @ts-expect-error lines fail when a wrong call type-checks.
 */
import {
  defineContract,
  eventDef,
  type Handler,
  type HandlerContext,
  type Handlers,
  method,
  msgpackDialect,
  type ParamsOf,
  type ResultOf,
  RpcClient,
  RpcServer,
} from '@openclaw-ipc/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { onCleanup, rpcPair } from './util/harness.js';

const contract = defineContract({
  methods: {
    add: method({ params: z.object({ a: z.number(), b: z.number() }), result: z.number() }),
    hello: method<{ name: string }, { greeting: string }>(),
  },
  events: {
    tick: eventDef<{ n: number }>(),
    score: eventDef(z.object({ p: z.string() })),
  },
});
type C = typeof contract;

describe('typed contracts', () => {
  it('infers params and results from schemas and from type-only methods', () => {
    expectTypeOf<ParamsOf<C, 'add'>>().toEqualTypeOf<{ a: number; b: number }>();
    expectTypeOf<ResultOf<C, 'add'>>().toEqualTypeOf<number>();
    expectTypeOf<ParamsOf<C, 'hello'>>().toEqualTypeOf<{ name: string }>();
    expectTypeOf<ResultOf<C, 'hello'>>().toEqualTypeOf<{ greeting: string }>();
    expect(Object.keys(contract.methods)).toEqual(['add', 'hello']);
  });

  it('types client.request, client.on and client.events from the contract', async () => {
    const { client } = await rpcPair<C>({ client: { contract } });
    expectTypeOf(client).toEqualTypeOf<RpcClient<C>>();
    expectTypeOf(client.request<'add'>)
      .parameter(0)
      .toEqualTypeOf<'add'>();
    expectTypeOf(client.request<'add'>)
      .parameter(1)
      .toEqualTypeOf<{ a: number; b: number } | undefined>();
    expectTypeOf(client.request<'add'>).returns.resolves.toEqualTypeOf<number>();
    expectTypeOf(client.request<'hello'>).returns.resolves.toEqualTypeOf<{ greeting: string }>();
    expectTypeOf(client.events<'tick'>).returns.toHaveProperty('next');
    client.on('tick', (d) => expectTypeOf(d).toEqualTypeOf<{ n: number }>());
    client.on('score', (d) => expectTypeOf(d).toEqualTypeOf<{ p: string }>());
    const deferred = () => {
      // @ts-expect-error unknown method
      void client.request('nope', {});
      // @ts-expect-error wrong params type
      void client.request('add', { a: 'x', b: 1 });
      // @ts-expect-error unknown event
      client.on('nope', () => {});
    };
    expect(typeof deferred).toBe('function');
  });

  it('types server.handle from the contract', () => {
    const server = new RpcServer<C>({ dialect: msgpackDialect, contract });
    onCleanup(() => server.close());
    server.handle('add', (params, ctx) => {
      expectTypeOf(params).toEqualTypeOf<{ a: number; b: number }>();
      expectTypeOf(ctx).toEqualTypeOf<HandlerContext>();
      return params.a + params.b;
    });
    server.handle('hello', async ({ name }) => ({ greeting: `hi ${name}` }));
    const deferred = () => {
      // @ts-expect-error wrong result type
      server.handle('add', () => 'not a number');
      // @ts-expect-error unknown method
      server.handle('nope', () => 1);
    };
    expect(typeof deferred).toBe('function');
  });

  it('types server.emit and server.publish from the contract’s events', () => {
    const server = new RpcServer<C>({ dialect: msgpackDialect, contract });
    onCleanup(() => server.close());
    expectTypeOf(server.emit<'tick'>)
      .parameter(1)
      .toEqualTypeOf<{ n: number } | undefined>();
    expectTypeOf(server.publish<'score'>)
      .parameter(1)
      .toEqualTypeOf<{ p: string } | undefined>();
    server.emit('tick', { n: 1 });
    server.publish('score', { p: 'a' });
    const deferred = () => {
      // @ts-expect-error unknown event
      server.emit('nope', {});
      // @ts-expect-error wrong data type
      server.emit('tick', { n: 'one' });
      // @ts-expect-error unknown topic
      server.publish('nope', {});
      // @ts-expect-error wrong data type
      server.publish('score', { p: 1 });
    };
    expect(typeof deferred).toBe('function');
  });

  it('types client.notify, client.subscribe and server.on from the contract', async () => {
    const { client } = await rpcPair<C>({ client: { contract } });
    const server = new RpcServer<C>({ dialect: msgpackDialect, contract });
    onCleanup(() => server.close());
    expectTypeOf(client.notify<'hello'>)
      .parameter(1)
      .toEqualTypeOf<{ name: string } | undefined>();
    server.on('hello', (data) => expectTypeOf(data).toEqualTypeOf<{ name: string }>());
    const deferred = () => {
      // @ts-expect-error unknown method
      void client.notify('nope', {});
      // @ts-expect-error wrong params type
      void client.notify('hello', { name: 1 });
      // @ts-expect-error unknown topic
      void client.subscribe('nope');
      // @ts-expect-error unknown notification
      server.on('nope', () => {});
    };
    expect(typeof deferred).toBe('function');
  });

  it('types the handlers option of a server from the contract', () => {
    const server = new RpcServer<C>({
      dialect: msgpackDialect,
      contract,
      handlers: {
        add: (params) => {
          expectTypeOf(params).toEqualTypeOf<{ a: number; b: number }>();
          return params.a + params.b;
        },
        hello: ({ name }) => ({ greeting: `hi ${name}` }),
      },
    });
    onCleanup(() => server.close());
    expectTypeOf<Handlers<C>>().toEqualTypeOf<{
      add?: Handler<{ a: number; b: number }, number>;
      hello?: Handler<{ name: string }, { greeting: string }>;
    }>();
    const deferred = () => {
      // @ts-expect-error wrong result type
      new RpcServer<C>({ dialect: msgpackDialect, handlers: { add: () => 'not a number' } });
      // @ts-expect-error unknown method
      new RpcServer<C>({ dialect: msgpackDialect, handlers: { nope: () => 1 } });
    };
    expect(typeof deferred).toBe('function');
  });

  it('an untyped client and server take any method', () => {
    const client = new RpcClient({
      dialect: msgpackDialect,
      link: async () => Promise.reject(new Error('unused')),
    });
    expectTypeOf(client.request('anything', { x: 1 })).resolves.toBeAny();
    expect(client.state).toBe('connecting');
  });
});
