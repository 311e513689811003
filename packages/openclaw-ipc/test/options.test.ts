import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { UnixConnectOptions } from '@openclaw-ipc/unix';
import type { WsConnectOptions, WsUrlListenOptions } from '@openclaw-ipc/ws';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ConnectOptions,
  connect,
  DEFAULT_LIMITS,
  defineContract,
  IpcError,
  type ListenOptions,
  listen,
  method,
  type SchemeOf,
  type TransportFactory,
  transportFor,
  type UrlConnectOptions,
  type UrlListenOptions,
} from '../src/index.js';
import { tempDir } from './helpers.js';

// A transport another package registers types its scheme by declaration merging.
declare module 'openclaw-ipc' {
  interface TransportsByScheme {
    pigeon: TransportFactory<{ coop?: string }, { loft?: string }>;
  }
}

/** Every scheme family, with a fresh address (a socket path where it needs one). */
const cases: Array<{ name: string; url: () => string; socket?: boolean }> = [
  { name: 'unix', url: () => `unix://${join(tempDir(), 'o.sock')}`, socket: true },
  { name: 'nng+ipc', url: () => `nng+ipc://${join(tempDir(), 'o.ipc')}`, socket: true },
  { name: 'nng+tcp', url: () => 'nng+tcp://127.0.0.1:0' },
  { name: 'ws', url: () => 'ws://127.0.0.1:0/' },
  { name: 'file (ipckit)', url: () => `file://${join(tempDir(), 'chan')}` },
  { name: 'file (journal)', url: () => `file://${join(tempDir(), 'journal')}?mode=journal` },
  { name: 'rdma+cma', url: () => `rdma+cma://${join(tempDir(), 'c.sock')}`, socket: true },
  { name: 'rdma+shm', url: () => `rdma+shm://${join(tempDir(), 's.sock')}`, socket: true },
];

const failure = (p: Promise<unknown>): Promise<IpcError> =>
  p.then(
    () => {
      throw new Error('resolved');
    },
    (e: IpcError) => e,
  );

describe.each(cases)(
  '$name: a misspelt option is INVALID_ARGUMENT listing the known ones',
  ({ url, socket }) => {
    it('listen() refuses it before binding anything', async () => {
      const address = url();
      const err = await failure(listen(address, { maxFrameSize: 4096 } as never));
      expect(err).toBeInstanceOf(IpcError);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain('unknown option "maxFrameSize" (did you mean "maxMessageSize"?)');
      const known = [...transportFor(address).factory.optionNames.listen].sort();
      expect(err.details).toEqual({ option: 'maxFrameSize', known, suggestion: 'maxMessageSize' });
      expect(known).toEqual(expect.arrayContaining(['maxMessageSize', 'handlers', 'dialect']));
      if (socket) expect(existsSync(new URL(address).pathname)).toBe(false);
    });

    it('connect() refuses it before dialling', async () => {
      const address = url();
      const err = await failure(connect(address, { maxMesageSize: 4096 } as never));
      expect(err.code).toBe('INVALID_ARGUMENT');
      const known = [...transportFor(address).factory.optionNames.connect].sort();
      expect(err.details).toEqual({ option: 'maxMesageSize', known, suggestion: 'maxMessageSize' });
      expect(err.message).toContain(`known options: ${known.join(', ')}`);
    });
  },
);

describe('an option of another transport is refused at run time', () => {
  it('allowedOrigins on a unix server, socketMode on a ws server, connectTimeout on a file client', async () => {
    const unixUrl: string = `unix://${join(tempDir(), 'x.sock')}`;
    const wsUrl: string = 'ws://127.0.0.1:0/';
    const fileUrl: string = `file://${join(tempDir(), 'chan')}`;
    expect(await failure(listen(unixUrl, { allowedOrigins: ['*'] }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { option: 'allowedOrigins' },
    });
    expect(await failure(listen(wsUrl, { socketMode: 0o600 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { option: 'socketMode' },
    });
    expect(await failure(connect(fileUrl, { connectTimeout: 100 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { option: 'connectTimeout' },
    });
  });
});

describe.each(cases)('$name: maxMessageSize is the one size limit', ({ url }) => {
  it('a request over the client’s maxMessageSize is MESSAGE_TOO_LARGE; a reply over the server’s is refused', async () => {
    const server = await listen(url(), {
      maxMessageSize: 4096,
      handlers: { echo: (p: unknown) => p, big: (n: number) => 'x'.repeat(n) },
    });
    const client = await connect(server.address!, { maxMessageSize: 4096, reconnect: false });
    try {
      expect(await failure(client.request('echo', 'y'.repeat(5000)))).toMatchObject({
        code: 'MESSAGE_TOO_LARGE',
        details: { limit: 4096 },
      });
      const refused = await failure(client.request('big', 5000));
      expect(refused.code).toBe('REMOTE');
      expect(refused.message).toContain('over the limit of 4096 bytes');
      // Both ends still serve what fits.
      expect(await client.request('big', 100)).toBe('x'.repeat(100));
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('options typed by the URL’s scheme (compile-time; tsc -b checks the @ts-expect-error lines)', () => {
  it('a URL literal takes exactly its transport’s options', () => {
    expectTypeOf<SchemeOf<'unix:///tmp/x.sock'>>().toEqualTypeOf<'unix'>();
    expectTypeOf<SchemeOf<'nng+tls+tcp://h:1'>>().toEqualTypeOf<'nng+tls+tcp'>();
    expectTypeOf<SchemeOf<string>>().toBeNever();
    expectTypeOf<UrlConnectOptions<'unix:///x'>>().toEqualTypeOf<ConnectOptions & UnixConnectOptions>();
    expectTypeOf<UrlConnectOptions<'wss://h/'>>().toEqualTypeOf<ConnectOptions & WsConnectOptions>();
    expectTypeOf<UrlListenOptions<'ws://h:1/'>>().toEqualTypeOf<ListenOptions & WsUrlListenOptions>();
    const deferred = async () => {
      // @ts-expect-error maxFrameSize is not an option: the size limit is maxMessageSize
      await connect('unix:///tmp/x.sock', { maxFrameSize: 1 });
      // @ts-expect-error allowedOrigins is a ws and nng option, not a unix one
      await listen('unix:///tmp/x.sock', { allowedOrigins: ['*'] });
      // @ts-expect-error socketMode is not a ws option
      await listen('ws://127.0.0.1:0/', { socketMode: 0o600 });
      // @ts-expect-error a file channel does not dial: no connectTimeout
      await connect('file:///tmp/chan', { connectTimeout: 5 });
      // @ts-expect-error recvMaxSize is nng's name; here it is maxMessageSize
      await listen('nng+ipc:///tmp/x.ipc', { recvMaxSize: 1 });
      await listen('unix:///tmp/x.sock', { socketMode: 0o660, maxMessageSize: 1, maxConnections: 2 });
      await connect('nng+tcp://h:1', { connectTimeout: 5, resendTime: 1000, maxMessageSize: 1 });
      await listen('rdma+cma:///tmp/c.sock', { rendezvousThreshold: 1, maxSessions: 2, socketMode: 0o600 });
    };
    expect(typeof deferred).toBe('function');
  });

  it('a URL only known as a string or a URL takes any transport’s options, and still no misspelt one', () => {
    const deferred = async (url: string, parsed: URL) => {
      await listen(url, { socketMode: 0o600, allowedOrigins: ['*'] });
      await connect(parsed, { connectTimeout: 5, token: 't' });
      // @ts-expect-error no transport has this option
      await connect(url, { maxMesageSize: 1 });
      // @ts-expect-error no transport has this option
      await listen(parsed, { maxPayload: 1 });
    };
    expect(typeof deferred).toBe('function');
  });

  it('a scheme added by declaration merging gets its transport’s options', () => {
    const deferred = async () => {
      await connect('pigeon://coop/1', { coop: 'north', timeout: 5 });
      await listen('pigeon://coop/1', { loft: 'south' });
      // @ts-expect-error the pigeon transport has no `cop`
      await connect('pigeon://coop/1', { cop: 'north' });
    };
    expect(typeof deferred).toBe('function');
  });

  it('the contract types handlers, emit and requests through listen() and connect()', () => {
    const contract = defineContract({
      methods: { add: method<{ a: number; b: number }, number>() },
      events: { tick: { __types: undefined as unknown as { data: { n: number } } } },
    });
    const deferred = async () => {
      const server = await listen('unix:///tmp/t.sock', {
        contract,
        handlers: { add: ({ a, b }) => a + b },
      });
      server.emit('tick', { n: 1 });
      const client = await connect('unix:///tmp/t.sock', { contract });
      const sum: number = await client.request('add', { a: 1, b: 2 });
      // @ts-expect-error a handler must return the method's result type
      await listen('unix:///tmp/t.sock', { contract, handlers: { add: () => 'three' } });
      // @ts-expect-error no such method in the contract
      await listen('unix:///tmp/t.sock', { contract, handlers: { sub: () => 1 } });
      // @ts-expect-error wrong event data
      server.emit('tick', { n: 'one' });
      return sum;
    };
    expect(typeof deferred).toBe('function');
    expect(DEFAULT_LIMITS.maxMessageSize).toBe(1024 * 1024);
  });
});
