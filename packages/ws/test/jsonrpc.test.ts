import { IpcError, type RpcServer } from '@openclaw-ipc/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectWsClient, createWsServer, jsonRpcDialect, toCanonicalId, toWireId } from '../src/index.js';
import { onCleanup, rawClient } from './util/raw.js';

/** A JSON-RPC server with the methods of the specification's examples. */
async function specServer(): Promise<{ server: RpcServer; address: string }> {
  const { server, address } = await createWsServer({ heartbeatInterval: 0 });
  onCleanup(() => server.close());
  server.handle('subtract', (p: unknown) => {
    if (Array.isArray(p)) return p[0] - p[1];
    const o = p as { minuend: number; subtrahend: number };
    return o.minuend - o.subtrahend;
  });
  server.handle('sum', (p: number[]) => p.reduce((a, b) => a + b, 0));
  server.handle('get_data', () => ['hello', 5]);
  server.handle('update', () => 'ignored');
  server.handle('notify_hello', () => 'ignored');
  return { server, address };
}

describe('JSON-RPC 2.0 dialect: the examples of the specification, as literal frames', () => {
  it('answers positional and named parameters, echoing numeric ids', async () => {
    const { address } = await specServer();
    const c = await rawClient(address);
    c.send('{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":19,"id":1}');
    c.send('{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":19,"id":3}');
    c.send('{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": "abc"}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":-19,"id":"abc"}');
  });

  it('sends nothing back for notifications', async () => {
    const { address } = await specServer();
    const c = await rawClient(address);
    c.send('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}');
    c.send('{"jsonrpc": "2.0", "method": "foobar"}');
    c.send('{"jsonrpc": "2.0", "method": "subtract", "params": [1, 1], "id": 9}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":0,"id":9}');
  });

  it('answers -32601 for a method that does not exist', async () => {
    const { address } = await specServer();
    const c = await rawClient(address);
    c.send('{"jsonrpc": "2.0", "method": "foobar", "id": "1"}');
    expect(JSON.parse(await c.next())).toEqual({
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Unknown method: foobar' },
      id: '1',
    });
  });

  it('answers -32700 with id null for invalid JSON, and -32600 for an invalid request', async () => {
    const { address } = await specServer();
    const c = await rawClient(address);
    c.send('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]');
    expect(await c.next()).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}',
    );
    c.send('{"jsonrpc": "2.0", "method": 1, "params": "bar"}');
    expect(await c.next()).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}',
    );
  });

  it('answers batches, including invalid and empty ones', async () => {
    const { address } = await specServer();
    const c = await rawClient(address);
    c.send('[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]');
    expect(await c.next()).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}',
    );
    c.send('[]');
    expect(await c.next()).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}',
    );
    c.send('[1]');
    expect(await c.next()).toBe(
      '[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]',
    );
    c.send('[1,2,3]');
    expect(JSON.parse(await c.next())).toEqual(
      Array(3).fill({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null }),
    );
    c.send(`[
      {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
      {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
      {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
      {"foo": "boo"},
      {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
      {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]`);
    const replies = JSON.parse(await c.next()) as Array<{ id: unknown }>;
    const byId = (id: unknown) => replies.find((r) => r.id === id);
    expect(replies).toHaveLength(5);
    expect(byId('1')).toEqual({ jsonrpc: '2.0', result: 7, id: '1' });
    expect(byId('2')).toEqual({ jsonrpc: '2.0', result: 19, id: '2' });
    expect(byId(null)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32600, message: 'Invalid Request' },
      id: null,
    });
    expect(byId('5')).toEqual({
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Unknown method: foo.get' },
      id: '5',
    });
    expect(byId('9')).toEqual({ jsonrpc: '2.0', result: ['hello', 5], id: '9' });
    c.send(
      '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]',
    );
    c.send('{"jsonrpc": "2.0", "method": "sum", "params": [1], "id": 0}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":1,"id":0}');
  });

  it('maps error codes: -32602 for bad params, -32603 for crashes, application codes kept', async () => {
    const { server, address } = await specServer();
    server.handle('strict', () => {
      throw new IpcError('PROTOCOL', 'x must be a number');
    });
    server.handle('crash', () => {
      throw new Error('boom');
    });
    server.handle('busy', () => {
      throw new IpcError('CAPACITY', 'too busy', { details: { queue: 3 } });
    });
    const c = await rawClient(address);
    c.send('{"jsonrpc":"2.0","method":"strict","params":{},"id":1}');
    expect(await c.next()).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32602,"message":"x must be a number"},"id":1}',
    );
    c.send('{"jsonrpc":"2.0","method":"crash","params":{},"id":2}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","error":{"code":-32603,"message":"boom"},"id":2}');
    c.send('{"jsonrpc":"2.0","method":"busy","params":{},"id":3}');
    expect(await c.next()).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32000,"message":"too busy","data":{"code":"CAPACITY","details":{"queue":3}}},"id":3}',
    );
    // Our client reads them back to the engine's codes.
    const client = await connectWsClient(address, { heartbeatInterval: 0 });
    onCleanup(() => client.close());
    const codes = await Promise.all(
      ['strict', 'crash', 'busy', 'nope'].map((m) => client.request(m).catch((e) => e.remoteCode)),
    );
    expect(codes).toEqual(['PROTOCOL', 'INTERNAL', 'CAPACITY', 'METHOD_NOT_FOUND']);
  });

  it('reads numeric application codes and data from other JSON-RPC servers', () => {
    const msg = jsonRpcDialect.decode(
      '{"jsonrpc":"2.0","error":{"code":42,"message":"nope","data":[1]},"id":"a"}',
    );
    expect(msg).toEqual({
      id: 'a',
      payload: { type: 'response', success: false, result: null, error: 'nope', code: 42, details: [1] },
    });
    expect(jsonRpcDialect.encode(msg as never)).toBe(
      '{"jsonrpc":"2.0","error":{"code":42,"message":"nope","data":[1]},"id":"a"}',
    );
  });

  it('keeps every id exactly: strings, numbers, null, and strings that look like our escapes', () => {
    for (const id of ['a', '', '\u0000n1', '\u0000s', 0, -1, 1.5, 2 ** 53, null]) {
      expect(toWireId(toCanonicalId(id))).toEqual(id);
    }
    expect(toCanonicalId('\u0000n1')).not.toBe(toCanonicalId(1));
  });

  it('sends server events as notifications and cancels with $/cancelRequest', async () => {
    const { server, address } = await specServer();
    let aborted = false;
    server.handle(
      'slow',
      (_p, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve('stopped');
          });
        }),
    );
    const c = await rawClient(address);
    c.send('{"jsonrpc":"2.0","method":"$/subscribe","params":{"topic":"news"},"id":1}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":{"subscribed":true,"topic":"news"},"id":1}');
    server.publish('news', { headline: 'hi' });
    expect(await c.next()).toBe('{"jsonrpc":"2.0","method":"news","params":{"headline":"hi"}}');
    c.send('{"jsonrpc":"2.0","method":"slow","params":{},"id":7}');
    c.send('{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}');
    expect(await c.next()).toBe('{"jsonrpc":"2.0","result":"stopped","id":7}');
    expect(aborted).toBe(true);
  });
});

describe('JSON-RPC encoding of requests and results by concatenation', () => {
  const idArb = fc.oneof(
    fc.string(),
    fc.string().map((s) => `\u0000${s}`),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constant(null),
  );
  it('writes exactly the bytes of JSON.stringify of the JSON-RPC object', () => {
    fc.assert(
      fc.property(idArb, fc.jsonValue(), fc.string(), (wireId, value, method) => {
        const id = toCanonicalId(wireId);
        const wire = JSON.parse(JSON.stringify(wireId));
        expect(
          jsonRpcDialect.encode({
            id,
            payload: { type: 'response', success: true, result: value, error: null },
          }),
        ).toBe(JSON.stringify({ jsonrpc: '2.0', result: value, id: wire }));
        expect(jsonRpcDialect.encode({ id, payload: { type: 'request', method, params: value } })).toBe(
          JSON.stringify({ jsonrpc: '2.0', method, params: value, id: wire }),
        );
      }),
    );
  });

  it('still reports a result that has no JSON form as SERIALIZATION', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const result of [cyclic, 10n]) {
      expect(() =>
        jsonRpcDialect.encode({ id: 'a', payload: { type: 'response', success: true, result, error: null } }),
      ).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    }
  });
});
