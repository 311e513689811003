import {
  abortedError,
  closedError,
  decodeUtf8,
  errorResponse,
  IpcError,
  IpcErrorCode,
  jsonCodec,
  msgpackCodec,
  parseJson,
  RemoteError,
  stringifyJson,
  timeoutError,
  tooLargeError,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('IpcError', () => {
  it('has the stable codes of design.md', () => {
    for (const code of [
      'TIMEOUT',
      'CLOSED',
      'ABORTED',
      'SERIALIZATION',
      'MESSAGE_TOO_LARGE',
      'PROTOCOL',
      'AUTH',
      'CAPACITY',
      'POOL_EXHAUSTED',
      'REMOTE',
      'UNAVAILABLE',
    ]) {
      expect(IpcErrorCode[code as IpcErrorCode]).toBe(code);
    }
  });

  it('carries code, message, details and cause', () => {
    const cause = new Error('inner');
    const err = new IpcError('AUTH', 'denied', { cause, details: { user: 'x' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('IpcError');
    expect(err.code).toBe('AUTH');
    expect(err.message).toBe('denied');
    expect(err.details).toEqual({ user: 'x' });
    expect(err.cause).toBe(cause);
    expect(IpcError.is(err)).toBe(true);
    expect(IpcError.is(err, 'AUTH')).toBe(true);
    expect(IpcError.is(err, 'CLOSED')).toBe(false);
    expect(IpcError.is(cause)).toBe(false);
  });

  it('wraps foreign errors and keeps IpcErrors as they are', () => {
    const mine = new IpcError('CLOSED', 'gone');
    expect(IpcError.from(mine, 'PROTOCOL')).toBe(mine);
    const wrapped = IpcError.from(new TypeError('bad'), 'SERIALIZATION');
    expect(wrapped.code).toBe('SERIALIZATION');
    expect(wrapped.message).toBe('bad');
    expect(IpcError.from('text').code).toBe('PROTOCOL');
  });

  it('has shorthands with the right codes and details', () => {
    expect(closedError().code).toBe('CLOSED');
    expect(timeoutError('request x', 5)).toMatchObject({ code: 'TIMEOUT', details: { timeoutMs: 5 } });
    expect(abortedError('why')).toMatchObject({ code: 'ABORTED', cause: 'why' });
    expect(tooLargeError(10, 5)).toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      details: { size: 10, limit: 5 },
    });
  });
});

describe('RemoteError', () => {
  it('is an IpcError of code REMOTE carrying the peer code and context', () => {
    const err = new RemoteError('forbidden', {
      remoteCode: 'FORBIDDEN',
      details: { scope: 'x' },
      retryable: false,
      retryAfterMs: 10,
      method: 'm',
    });
    expect(err).toBeInstanceOf(IpcError);
    expect(err.name).toBe('RemoteError');
    expect(err.code).toBe('REMOTE');
    expect(err.remoteCode).toBe('FORBIDDEN');
    expect(err.details).toEqual({ scope: 'x' });
    expect(err.retryable).toBe(false);
    expect(err.retryAfterMs).toBe(10);
    expect(err.method).toBe('m');
    expect(new RemoteError('x', { remoteCode: -32601 }).remoteCode).toBe(-32601);
  });

  it('becomes an error response that keeps its code; IpcErrors keep theirs, others are INTERNAL', () => {
    expect(
      errorResponse('1', new RemoteError('no', { remoteCode: 'FORBIDDEN', retryable: true })).payload,
    ).toEqual({
      type: 'response',
      success: false,
      result: null,
      error: 'no',
      code: 'FORBIDDEN',
      retryable: true,
    });
    expect(errorResponse('1', new IpcError('AUTH', 'who')).payload).toMatchObject({
      code: 'AUTH',
      error: 'who',
    });
    expect(errorResponse('1', new Error('boom')).payload).toMatchObject({ code: 'INTERNAL', error: 'boom' });
    expect(errorResponse('1', 'str').payload).toMatchObject({ code: 'INTERNAL', error: 'str' });
  });
});

describe('MessagePack codec (standard: no records, no extensions)', () => {
  it('writes a small map exactly as the MessagePack spec does', () => {
    // fixmap(2) "a" 1 "b" "x"
    expect(hex(msgpackCodec.encode({ a: 1, b: 'x' }))).toBe('82a16101a162a178');
    // fixmap(1) "k" fixarray(3) nil true false
    expect(hex(msgpackCodec.encode({ k: [null, true, false] }))).toBe('81a16b93c0c3c2');
    // int16 -300, uint32 70000, float64 1.5
    expect(hex(msgpackCodec.encode([-300, 70000, 1.5]))).toBe('93d1fed4ce00011170cb3ff8000000000000');
    // bytes are bin 8
    expect(hex(msgpackCodec.encode(new Uint8Array([1, 2, 3])))).toBe('c403010203');
  });

  it('writes repeated objects as plain maps every time (no record extension)', () => {
    const value = [
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ];
    const out = msgpackCodec.encode(value);
    expect(hex(out)).toBe('9282a26964a161a16e0182a26964a162a16e02');
    // no extension type byte (fixext/ext 8/16/32) anywhere in it
    for (const b of out) expect([0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]).not.toContain(b);
  });

  it('writes undefined as nil', () => {
    expect(hex(msgpackCodec.encode({ u: undefined }))).toBe('81a175c0');
  });

  it('reads hand-written vectors', () => {
    expect(msgpackCodec.decode(bytes('82a16101a162a178'))).toEqual({ a: 1, b: 'x' });
    // map 16 with one entry, str 8 key
    expect(msgpackCodec.decode(bytes('de0001 d903 6b6579 cd0100'))).toEqual({ key: 256 });
    // uint 64 that fits in a double reads as a number
    expect(msgpackCodec.decode(bytes('cf 0000000000000005'))).toBe(5);
  });

  it('rejects truncated, trailing and unknown-extension input with SERIALIZATION', () => {
    for (const h of ['82a161', '01ff', 'c70101ff', 'd9', '']) {
      expect(() => msgpackCodec.decode(bytes(h)), h).toThrow(
        expect.objectContaining({ code: 'SERIALIZATION' }),
      );
    }
  });

  it('reports values it cannot encode as SERIALIZATION', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => msgpackCodec.encode(cyclic)).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
  });
});

describe('JSON codec (strict UTF-8)', () => {
  it('round-trips values as UTF-8 JSON', () => {
    const value = { s: 'héllo ✓ 🦀', n: [1, 2.5, null] };
    const out = jsonCodec.encode(value);
    expect(Buffer.from(out).toString('utf8')).toBe(JSON.stringify(value));
    expect(jsonCodec.decode(out)).toEqual(value);
  });

  it('rejects invalid UTF-8 with SERIALIZATION instead of replacing it', () => {
    for (const h of ['22ff22', '22c3', '22eda08022' /* surrogate */, '22c0af22' /* overlong */]) {
      expect(() => jsonCodec.decode(bytes(h)), h).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
      expect(() => decodeUtf8(bytes(h))).toThrow(IpcError);
    }
  });

  it('rejects malformed JSON and unencodable values with SERIALIZATION', () => {
    expect(() => parseJson('{')).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    expect(() => jsonCodec.decode(bytes('7b7d7b7d'))).toThrow(
      expect.objectContaining({ code: 'SERIALIZATION' }),
    );
    expect(() => stringifyJson(10n)).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    expect(() => stringifyJson(undefined)).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonCodec.encode(cyclic)).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
  });
});
