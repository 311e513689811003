import { IpcError, type IpcMessage, RpcServer } from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { delay, jsonBatchDialect, onCleanup, until } from './util/harness.js';
import { type MemoryLink, memoryLinkPair } from './util/memory-link.js';

/** A server on one end of a link pair; the test speaks raw frames on the other end. */
function serverWithRawPeer(options: { maxMessageSize?: number; maxConcurrent?: number } = {}) {
  const errors: IpcError[] = [];
  const server = new RpcServer({ dialect: jsonBatchDialect, ...options, onError: (e) => errors.push(e) });
  onCleanup(() => server.close());
  const [peer, serverEnd] = memoryLinkPair();
  server.attach(serverEnd);
  const frames: unknown[] = [];
  let closed = false;
  peer.attach({ onFrame: (f) => frames.push(JSON.parse(f as string)), onClose: () => (closed = true) });
  return { server, peer: peer as MemoryLink, frames, errors, isClosed: () => closed };
}

const req = (id: string, method: string, params: unknown = {}): IpcMessage => ({
  id,
  payload: { type: 'request', method, params },
});

describe('server batch handling', () => {
  it('answers a batch with one frame of replies once all are done', async () => {
    const { server, peer, frames } = serverWithRawPeer();
    const events: unknown[] = [];
    server.handle('echo', (p) => p);
    server.handle('slow', async (p) => {
      await delay(10);
      return p;
    });
    server.on('note', (d) => events.push(d));
    peer.send(
      JSON.stringify([
        req('1', 'slow', 'a'),
        { id: 'e', payload: { type: 'event', event_type: 'note', data: 5 } },
        req('2', 'echo', 'b'),
      ]),
    );
    await until(() => frames.length === 1);
    const batch = frames[0] as IpcMessage[];
    expect(Array.isArray(batch)).toBe(true);
    expect(batch.map((m) => [m.id, (m.payload as { result: unknown }).result]).sort()).toEqual([
      ['1', 'a'],
      ['2', 'b'],
    ]);
    expect(events).toEqual([5]);
  });

  it('sends nothing back for a batch of events only', async () => {
    const { server, peer, frames } = serverWithRawPeer();
    const events: unknown[] = [];
    server.on('note', (d) => events.push(d));
    peer.send(JSON.stringify([{ id: 'e', payload: { type: 'event', event_type: 'note', data: 1 } }]));
    await until(() => events.length === 1);
    await delay(5);
    expect(frames).toEqual([]);
  });

  it('answers each request of a batch, errors and capacity included', async () => {
    const { server, peer, frames } = serverWithRawPeer({ maxConcurrent: 2 });
    // Asynchronous handlers hold their slots while they run; a synchronous one frees its slot
    // before the next request of the batch is dispatched.
    server.handle('ok', async () => 1);
    server.handle('fail', async () => {
      throw new IpcError('AUTH', 'no');
    });
    peer.send(JSON.stringify([req('1', 'ok'), req('2', 'fail'), req('3', 'ok')]));
    await until(() => frames.length === 1);
    const byId = Object.fromEntries((frames[0] as IpcMessage[]).map((m) => [m.id, m.payload]));
    expect(byId['1']).toMatchObject({ success: true, result: 1 });
    expect(byId['2']).toMatchObject({ success: false, code: 'AUTH' });
    expect(byId['3']).toMatchObject({ success: false, code: 'CAPACITY' });
  });

  it('counts only handlers still running against maxConcurrent', async () => {
    const { server, peer, frames } = serverWithRawPeer({ maxConcurrent: 1 });
    server.handle('sync', () => 2);
    peer.send(JSON.stringify([req('a', 'sync'), req('b', 'sync'), req('c', 'sync')]));
    await until(() => frames.length === 1);
    const replies = (frames[0] as IpcMessage[]).map((m) => m.payload);
    expect(replies).toHaveLength(3);
    expect(replies.every((p) => p.type === 'response' && p.success && p.result === 2)).toBe(true);
  });
});

describe('a batch with a reply that cannot be encoded is still answered and frees its slots', () => {
  it('answers the unencodable reply with SERIALIZATION and the others normally', async () => {
    const { server, peer, frames, server: s } = serverWithRawPeer({ maxConcurrent: 2 });
    server.handle('big', () => 10n);
    server.handle('ok', () => 'fine');
    peer.send(JSON.stringify([req('1', 'big'), req('2', 'ok')]));
    await until(() => frames.length === 1);
    const byId = Object.fromEntries((frames[0] as IpcMessage[]).map((m) => [m.id, m.payload]));
    expect(byId['1']).toMatchObject({ success: false, code: 'SERIALIZATION' });
    expect(byId['2']).toMatchObject({ success: true, result: 'fine' });
    // the two slots were released: two more requests run
    peer.send(JSON.stringify([req('3', 'ok'), req('4', 'ok')]));
    await until(() => frames.length === 2);
    expect((frames[1] as IpcMessage[]).every((m) => (m.payload as { success: boolean }).success)).toBe(true);
    expect([...s.connections][0]!.active.size).toBe(0);
  });

  it('answers every request of a batch whose replies are over maxMessageSize with MESSAGE_TOO_LARGE', async () => {
    const { server, peer, frames } = serverWithRawPeer({ maxMessageSize: 600 });
    server.handle('blob', (n: number) => 'z'.repeat(n));
    peer.send(JSON.stringify([req('1', 'blob', 100), req('2', 'blob', 100), req('3', 'blob', 1000)]));
    await until(() => frames.length === 1);
    const out = frames[0] as IpcMessage[];
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(600);
    expect(out.map((m) => m.id).sort()).toEqual(['1', '2', '3']);
    for (const m of out) expect(m.payload).toMatchObject({ success: false, code: 'MESSAGE_TOO_LARGE' });
  });
});
