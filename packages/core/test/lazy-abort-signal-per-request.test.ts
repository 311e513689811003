/**
 * The server makes a request's AbortController only when its handler reads ctx.signal (creating
 * one per request cost more than the rest of a small request's dispatch; see bench/unix).
 * What a handler observes must not change: a signal read after the cancel or the disconnect is
 * already aborted, with the reason.
 */
import { LazyAbortController, msgpackDialect } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { rejection, rpcPair, until } from './util/harness.js';

describe('LazyAbortController', () => {
  it('aborts a signal made after the abort, with its reason', () => {
    const lazy = new LazyAbortController();
    lazy.abort('why');
    expect(lazy.signal.aborted).toBe(true);
    expect(lazy.signal.reason).toBe('why');
  });

  it('aborts a signal made before the abort, once', () => {
    const lazy = new LazyAbortController();
    const signal = lazy.signal;
    let events = 0;
    signal.addEventListener('abort', () => events++);
    lazy.abort('first');
    lazy.abort('second');
    expect(signal.reason).toBe('first');
    expect(events).toBe(1);
    expect(lazy.signal).toBe(signal);
  });
});

describe('a handler reading ctx.signal late', () => {
  it('sees the caller’s cancel that came before it looked', async () => {
    const { server, client } = await rpcPair({ dialect: msgpackDialect });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let seen: AbortSignal | undefined;
    let started = false;
    server.handle('work', async (_p, ctx) => {
      started = true;
      await released; // does not touch ctx.signal until the cancel has arrived
      seen = ctx.signal;
    });
    const ac = new AbortController();
    const call = client.request('work', {}, { signal: ac.signal });
    await until(() => started);
    ac.abort();
    expect(await rejection(call)).toMatchObject({ code: 'ABORTED' });
    // Frames are handled in order: once this echo is answered, the cancel has been handled.
    server.handle('echo', (p) => p);
    expect(await client.request('echo', 1)).toBe(1);
    release();
    await until(() => seen !== undefined);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toMatchObject({ code: 'ABORTED' });
  });
});
