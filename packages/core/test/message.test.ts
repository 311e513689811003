import {
  event,
  failure,
  IpcError,
  type IpcMessage,
  msgpackDialect,
  openclawJson,
  parseMessage,
  request,
  success,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';

const ID = '6f1c2b9e-3d4a-4c5b-8e7f-0a1b2c3d4e5f';
const text = (frame: Uint8Array | string) =>
  typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8');

// The literal JSON of wire-formats.md §1, with concrete values for the elided parts.
const wire = {
  request: `{"id":"${ID}","payload":{"type":"request","method":"ping","params":{}}}`,
  response: `{"id":"${ID}","payload":{"type":"response","success":true,"result":{"pong":true},"error":null}}`,
  error: `{"id":"${ID}","payload":{"type":"response","success":false,"result":null,"error":"text"}}`,
  event: `{"id":"${ID}","payload":{"type":"event","event_type":"name","data":{"n":1}}}`,
};

describe('IpcMessage in the openclaw-ipc JSON dialect (wire-formats.md §1)', () => {
  it('writes a request byte for byte as the Rust crate does', () => {
    expect(text(openclawJson.encode(request('ping', {}, ID)))).toBe(wire.request);
    // params default to {} because the Rust reader requires the field
    expect(text(openclawJson.encode(request('ping', undefined, ID)))).toBe(wire.request);
  });

  it('writes a success response byte for byte', () => {
    expect(text(openclawJson.encode(success(ID, { pong: true })))).toBe(wire.response);
  });

  it('writes an error response byte for byte, without the codes the crate does not know', () => {
    expect(text(openclawJson.encode(failure(ID, 'text')))).toBe(wire.error);
    const withCode = failure(ID, 'text', { code: 'AUTH', details: { x: 1 }, retryable: true });
    expect(text(openclawJson.encode(withCode))).toBe(wire.error);
  });

  it('writes an event byte for byte', () => {
    expect(text(openclawJson.encode(event('name', { n: 1 }, ID)))).toBe(wire.event);
  });

  it('writes result null for a success without a value and keeps field order', () => {
    expect(text(openclawJson.encode(success(ID)))).toBe(
      `{"id":"${ID}","payload":{"type":"response","success":true,"result":null,"error":null}}`,
    );
    // a message built by hand in another key order is still written in the crate's order
    const shuffled = { payload: { params: [1], method: 'm', type: 'request' }, id: ID } as IpcMessage;
    expect(text(openclawJson.encode(shuffled))).toBe(
      `{"id":"${ID}","payload":{"type":"request","method":"m","params":[1]}}`,
    );
  });

  it('reads every literal back into the canonical message', () => {
    expect(openclawJson.decode(wire.request)).toEqual(request('ping', {}, ID));
    expect(openclawJson.decode(wire.response)).toEqual(success(ID, { pong: true }));
    expect(openclawJson.decode(wire.error)).toEqual(failure(ID, 'text'));
    expect(openclawJson.decode(Buffer.from(wire.event))).toEqual(event('name', { n: 1 }, ID));
  });

  it('uses fresh UUID v4 ids', () => {
    const a = request('x');
    const b = event('y');
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.id).not.toBe(b.id);
  });
});

describe('parseMessage', () => {
  const bad = (value: unknown) => {
    try {
      parseMessage(value);
    } catch (err) {
      return err as IpcError;
    }
    throw new Error(`accepted ${JSON.stringify(value)}`);
  };

  it.each([
    ['not an object', 'text'],
    ['null', null],
    ['an array', [{ id: 'a' }]],
    ['id missing', { payload: { type: 'event', event_type: 'e', data: 1 } }],
    ['id a number', { id: 1, payload: { type: 'event', event_type: 'e', data: 1 } }],
    ['payload missing', { id: 'a' }],
    ['payload an array', { id: 'a', payload: [] }],
    ['unknown type', { id: 'a', payload: { type: 'notify' } }],
    ['type missing', { id: 'a', payload: { method: 'm', params: {} } }],
    ['request without params', { id: 'a', payload: { type: 'request', method: 'm' } }],
    ['request method a number', { id: 'a', payload: { type: 'request', method: 1, params: {} } }],
    ['event without data', { id: 'a', payload: { type: 'event', event_type: 'e' } }],
    ['event_type missing', { id: 'a', payload: { type: 'event', data: {} } }],
    ['response success a string', { id: 'a', payload: { type: 'response', success: 'yes', result: 1 } }],
    ['response error a number', { id: 'a', payload: { type: 'response', success: false, error: 5 } }],
  ])('rejects %s with PROTOCOL', (_why, value) => {
    const err = bad(value);
    expect(err).toBeInstanceOf(IpcError);
    expect(err.code).toBe('PROTOCOL');
  });

  it('ignores unknown fields, as the Rust reader does', () => {
    const msg = parseMessage({
      id: 'a',
      extra: true,
      payload: { type: 'request', method: 'm', params: null, trace: 'x' },
    });
    expect(msg).toEqual({ id: 'a', payload: { type: 'request', method: 'm', params: null } });
  });

  it('accepts null params and data (present but null)', () => {
    expect(parseMessage({ id: 'a', payload: { type: 'event', event_type: 'e', data: null } })).toEqual(
      event('e', null, 'a'),
    );
  });

  it('fills absent result and error of a response with null', () => {
    expect(parseMessage({ id: 'a', payload: { type: 'response', success: true } })).toEqual(success('a'));
  });

  it('keeps the error context that our MessagePack dialect carries', () => {
    const sent = failure('a', 'slow down', {
      code: 'CAPACITY',
      details: { limit: 3 },
      retryable: true,
      retryAfterMs: 250,
    });
    const back = msgpackDialect.decode(msgpackDialect.encode(sent));
    expect(back).toEqual(sent);
  });

  it('rejects text frames in the msgpack dialect and malformed JSON with SERIALIZATION', () => {
    expect(() => msgpackDialect.decode('{}')).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
    expect(() => openclawJson.decode('{"id":')).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    expect(() => openclawJson.decode(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(
      expect.objectContaining({ code: 'SERIALIZATION' }),
    );
  });
});

describe('parseMessage answers a payload type whose String() fails with PROTOCOL', () => {
  it('rejects {toString: 0} and null-prototype objects as type with PROTOCOL', () => {
    for (const type of [{ toString: 0 }, Object.create(null), Symbol('x')]) {
      expect(() => parseMessage({ id: 'a', payload: { type } })).toThrow(
        expect.objectContaining({ code: 'PROTOCOL' }),
      );
    }
    expect(() => openclawJson.decode('{"id":"a","payload":{"type":{"toString":0}}}')).toThrow(
      expect.objectContaining({ code: 'PROTOCOL' }),
    );
  });
});

describe('parseMessage keeps retryable and retryAfterMs of an error response', () => {
  it('keeps them, so a RemoteError over msgpack says whether to retry', () => {
    const decoded = parseMessage({
      id: 'a',
      payload: { type: 'response', success: false, error: 'busy', retryable: true, retryAfterMs: 500 },
    });
    expect(decoded.payload).toMatchObject({ retryable: true, retryAfterMs: 500 });
    // wrong types are left out, not passed on
    const odd = parseMessage({
      id: 'a',
      payload: { type: 'response', success: false, error: 'x', retryable: 'yes', retryAfterMs: '5' },
    });
    expect(odd.payload).not.toHaveProperty('retryable');
    expect(odd.payload).not.toHaveProperty('retryAfterMs');
  });
});
