import { describe, expect, it } from 'vitest';
import { connectWsClient, createWsServer } from '../src/index.js';
import { onCleanup } from './util/raw.js';

const CLIENTS = 200;
const REQUESTS = 1000;
const IN_FLIGHT = 25;

describe('load', () => {
  it(`${CLIENTS} concurrent clients x ${REQUESTS} requests each: every one answered, correctly`, async () => {
    const { server, address } = await createWsServer({ heartbeatInterval: 0, maxConnections: CLIENTS });
    onCleanup(() => server.close());
    server.handle('add', (p: { a: number; b: number }) => p.a + p.b);
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        connectWsClient(address, { heartbeatInterval: 0, reconnect: false }),
      ),
    );
    onCleanup(() => {
      for (const c of clients) c.close();
    });
    expect(server.connections.size).toBe(CLIENTS);
    const answered = await Promise.all(
      clients.map(async (client, ci) => {
        let ok = 0;
        let next = 0;
        const worker = async () => {
          while (next < REQUESTS) {
            const i = next++;
            if ((await client.request('add', { a: ci, b: i })) === ci + i) ok++;
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
        return ok;
      }),
    );
    expect(answered).toEqual(Array(CLIENTS).fill(REQUESTS));
  }, 180_000);
});
