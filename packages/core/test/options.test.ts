import {
  CONNECT_OPTION_NAMES,
  type ConnectOptions,
  checkOptions,
  DEFAULT_LIMITS,
  IpcError,
  LISTEN_OPTION_NAMES,
  type ListenOptions,
  type OptionNames,
  ReconnectPolicy,
} from '@openclaw-ipc/core';
import { describe, expect, expectTypeOf, it } from 'vitest';

const thrown = (fn: () => unknown): IpcError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof IpcError) return err;
    throw err;
  }
  throw new Error('did not throw');
};

describe('checkOptions: an unknown option is INVALID_ARGUMENT naming it and listing the known ones', () => {
  const known = { maxMessageSize: true, connectTimeout: true, highWaterMark: true };

  it('names the option, where it was given, and every known option', () => {
    const e = thrown(() => checkOptions({ connectTimeout: 5, bogus: 1 }, known, 'unix connect()'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('unix connect(): unknown option "bogus"');
    expect(e.message).toContain('known options: connectTimeout, highWaterMark, maxMessageSize');
    expect(e.details).toEqual({
      option: 'bogus',
      known: ['connectTimeout', 'highWaterMark', 'maxMessageSize'],
    });
  });

  it('suggests the name used here for another library’s name of the same idea', () => {
    for (const other of ['maxFrameSize', 'maxPayload', 'recvMaxSize', 'maxSendSize']) {
      const e = thrown(() => checkOptions({ [other]: 1 }, known, 'x'));
      expect(e.message).toContain(`unknown option "${other}" (did you mean "maxMessageSize"?)`);
      expect(e.details).toMatchObject({ option: other, suggestion: 'maxMessageSize' });
    }
  });

  it('suggests a known option within two edits of a misspelt one, and nothing for a far one', () => {
    expect(thrown(() => checkOptions({ maxMesageSize: 1 }, known, 'x')).details).toMatchObject({
      suggestion: 'maxMessageSize',
    });
    expect(thrown(() => checkOptions({ conectTimeOut: 1 }, known, 'x')).details).toMatchObject({
      suggestion: 'connectTimeout',
    });
    expect(thrown(() => checkOptions({ colour: 'red' }, known, 'x')).details).not.toHaveProperty(
      'suggestion',
    );
  });

  it('accepts known options, an empty object, undefined, and a list of names', () => {
    expect(checkOptions({ maxMessageSize: 1, connectTimeout: undefined }, known, 'x')).toBeUndefined();
    expect(checkOptions({}, known, 'x')).toBeUndefined();
    expect(checkOptions(undefined, known, 'x')).toBeUndefined();
    expect(checkOptions({ a: 1 }, ['a', 'b'], 'x')).toBeUndefined();
    expect(thrown(() => checkOptions({ c: 1 }, ['a', 'b'], 'x')).details).toMatchObject({
      known: ['a', 'b'],
    });
  });

  it('the reconnect policy checks its options too', () => {
    const e = thrown(() => new ReconnectPolicy({ minDelai: 5 } as never));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.details).toMatchObject({ option: 'minDelai', suggestion: 'minDelay' });
  });
});

describe('the common option names match the option types', () => {
  it('CONNECT_OPTION_NAMES and LISTEN_OPTION_NAMES list every key of ConnectOptions and ListenOptions', () => {
    expectTypeOf(CONNECT_OPTION_NAMES).toEqualTypeOf<OptionNames<ConnectOptions>>();
    expectTypeOf(LISTEN_OPTION_NAMES).toEqualTypeOf<OptionNames<ListenOptions>>();
    expectTypeOf<keyof typeof CONNECT_OPTION_NAMES>().toEqualTypeOf<keyof ConnectOptions>();
    expectTypeOf<keyof typeof LISTEN_OPTION_NAMES>().toEqualTypeOf<keyof ListenOptions>();
    expect(Object.keys(CONNECT_OPTION_NAMES)).toContain('maxMessageSize');
    expect(Object.keys(LISTEN_OPTION_NAMES)).toEqual(expect.arrayContaining(['handlers', 'maxConnections']));
  });

  it('an OptionNames object with a name missing or one too many does not compile', () => {
    // @ts-expect-error missing `b`
    const missing: OptionNames<{ a?: number; b?: string }> = { a: true };
    // @ts-expect-error `c` is not an option
    const extra: OptionNames<{ a?: number }> = { a: true, c: true };
    expect([missing, extra]).toHaveLength(2);
  });

  it('ConnectOptions and ListenOptions have no index signature: a misspelt option does not compile', () => {
    // @ts-expect-error misspelt
    const client: ConnectOptions = { maxMesageSize: 1 };
    // @ts-expect-error another transport's option is not a common one
    const server: ListenOptions = { socketMode: 0o600 };
    expect([client, server]).toHaveLength(2);
  });

  it('DEFAULT_LIMITS holds every default limit under the option’s name', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxMessageSize: 1024 * 1024,
      maxInFlight: 1024,
      maxConcurrent: 256,
      maxConnections: 1024,
      highWaterMark: 1024 * 1024,
      maxQueuedBytes: 16 * 1024 * 1024,
      timeout: 30_000,
      maxHandlerTime: 0,
      credit: 16,
      connectTimeout: 10_000,
    });
  });
});
