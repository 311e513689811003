/**
 * Request ids: a dialect whose peers take ids as opaque strings (Dialect.opaqueIds, our msgpack
 * dialect) gets a per-client counter, in the form its countedId gives; others (the openclaw-ipc
 * crate's JSON) keep UUID v4s. Ids stay unique on a connection and across reconnects, with
 * idempotent requests resent meanwhile.
 */
import {
  type Dialect,
  type IpcMessage,
  msgpackDialect,
  openclawJson,
  RpcClient,
  RpcServer,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { onCleanup, until } from './util/harness.js';
import { MemoryNetwork } from './util/memory-link.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The dialect as the server uses it, recording the id of every request it decodes. */
function recording(dialect: Dialect, ids: string[]): Dialect {
  return {
    ...dialect,
    decode(frame) {
      const decoded = dialect.decode(frame);
      for (const m of ([] as IpcMessage[]).concat(decoded)) if (m.payload.type === 'request') ids.push(m.id);
      return decoded;
    },
  };
}

async function setup(dialect: Dialect) {
  const network = new MemoryNetwork();
  const ids: string[] = [];
  const server = new RpcServer({ dialect: recording(dialect, ids) });
  let hold = true;
  const waiting: Array<() => void> = [];
  server.handle('echo', (p) => p);
  server.handle('slow', async (p) => {
    if (hold) await new Promise<void>((r) => waiting.push(r));
    return p;
  });
  const listener = network.listen('ids');
  server.serve(listener);
  const client = new RpcClient({
    dialect,
    link: network.connector('ids'),
    reconnect: { minDelay: 1, maxDelay: 4 },
    idempotent: ['slow'],
  });
  const states: string[] = [];
  client.onState((s) => states.push(s));
  onCleanup(() => server.close());
  onCleanup(() => client.close());
  await client.start();
  const drop = () => {
    listener.dropAll();
    hold = false;
    for (const r of waiting) r();
  };
  return { client, ids, drop, states };
}

describe('request ids', () => {
  it('are the client counter for the msgpack dialect, unique across a reconnect', async () => {
    expect(msgpackDialect.opaqueIds).toBe(true);
    const { client, ids, drop, states } = await setup(msgpackDialect);
    const before = await Promise.all([1, 2, 3].map((n) => client.request('echo', n)));
    const held = client.request('slow', 'again'); // sent, then resent after the reconnect
    await until(() => ids.length === 4);
    drop();
    await until(() => states.includes('reconnecting') && states.at(-1) === 'open');
    const after = await Promise.all([held, client.request('echo', 4), client.request('echo', 5)]);
    expect(before).toEqual([1, 2, 3]);
    expect(after).toEqual(['again', 4, 5]);
    // Before the drop: 1..4. After it: "4" again (the idempotent request, resent with its id) and
    // new numbers for new requests, never one used before.
    expect(ids.slice(0, 4)).toEqual(['1', '2', '3', '4']);
    expect(ids.slice(4).sort()).toEqual(['4', '5', '6']);
  });

  it("are the dialect's countedId of the counter where it has one", async () => {
    const dialect: Dialect = { ...msgpackDialect, countedId: (n) => `n${n * 10}` };
    const { client, ids } = await setup(dialect);
    expect(await Promise.all([1, 2].map((n) => client.request('echo', n)))).toEqual([1, 2]);
    expect(ids).toEqual(['n10', 'n20']);
  });

  it('stay UUID v4s for the openclaw-ipc JSON dialect', async () => {
    expect(openclawJson.opaqueIds).toBeUndefined();
    const { client, ids } = await setup(openclawJson);
    expect(await Promise.all([1, 2].map((n) => client.request('echo', n)))).toEqual([1, 2]);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
