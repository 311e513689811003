import { defineContract, eventDef, IpcError, method, RemoteError, validate } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { onCleanup, rejection, rpcPair, until } from './util/harness.js';
import { memoryLinkPair } from './util/memory-link.js';

const contract = defineContract({
  methods: {
    add: method({ params: z.object({ a: z.number(), b: z.number() }), result: z.number() }),
    greet: method({ params: z.object({ name: z.string().min(1) }), result: z.string() }),
    trim: method({ params: z.string().transform((s) => s.trim()), result: z.string() }),
  },
  events: {
    tick: eventDef(z.object({ n: z.number().int() })),
  },
});

describe('contracts with runtime validation (zod through Standard Schema)', () => {
  it('passes valid params and results, with schema transforms applied', async () => {
    const { server, client } = await rpcPair({ client: { contract }, server: { contract } });
    server.handle('add', ({ a, b }) => a + b);
    server.handle('trim', (s) => `[${s}]`);
    expect(await client.request('add', { a: 2, b: 3 })).toBe(5);
    expect(await client.request('trim', '  x  ')).toBe('[x]');
  });

  it('answers invalid params at the server with a RemoteError of remote code PROTOCOL; the handler never runs', async () => {
    const { server, client } = await rpcPair({ client: {}, server: { contract } });
    let ran = false;
    server.handle('add', () => {
      ran = true;
      return 0;
    });
    const err = await rejection(client.request('add', { a: 'two', b: 3 } as never));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.remoteCode).toBe('PROTOCOL');
    expect(err.message).toMatch(/params of add at a/);
    expect(err.details.issues[0].path).toEqual(['a']);
    expect(ran).toBe(false);
  });

  it('rejects an invalid result at the client with IpcError PROTOCOL', async () => {
    const { server, client } = await rpcPair({ client: { contract } });
    server.handle('greet', (() => 42) as never);
    const err = await rejection(client.request('greet', { name: 'x' }));
    expect(err).toBeInstanceOf(IpcError);
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toMatch(/result of greet/);
  });

  it('validates events: valid ones are delivered, invalid ones reported', async () => {
    const errors: IpcError[] = [];
    const { server, client } = await rpcPair({ client: { contract, onError: (e) => errors.push(e) } });
    const got: number[] = [];
    client.on('tick', (d) => got.push(d.n));
    await until(() => server.connections.size === 1);
    server.emit('tick', { n: 1 });
    server.emit('tick', { n: 1.5 });
    server.emit('tick', { n: 2 });
    await until(() => got.length === 2 && errors.length === 1);
    expect(got).toEqual([1, 2]);
    expect(errors[0]).toMatchObject({ code: 'PROTOCOL' });
  });

  it('validate() accepts async schemas and reports issues as PROTOCOL', async () => {
    const asyncSchema = z.string().refine(async (s) => s === 'ok');
    expect(await validate(asyncSchema, 'ok', 'x')).toBe('ok');
    expect(await rejection(validate(asyncSchema, 'no', 'thing'))).toMatchObject({ code: 'PROTOCOL' });
    expect(await validate(undefined, 5, 'x')).toBe(5);
  });

  it('a link pair needs nothing else (memory links carry the contract traffic)', async () => {
    const [a, b] = memoryLinkPair();
    onCleanup(() => a.close());
    let got: unknown;
    b.attach({ onFrame: (f) => (got = f), onClose: () => {} });
    a.attach({ onFrame: () => {}, onClose: () => {} });
    a.send('ping');
    await until(() => got !== undefined);
    expect(got).toBe('ping');
  });
});
