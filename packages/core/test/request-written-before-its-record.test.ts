/**
 * RpcClient.request writes the frame on an open link before it makes the request's records
 * (promise, pending entry, deadline): a link that reports its loss from inside send() must still
 * leave the request as a loss right after sending would (CLOSED, or sent again when idempotent).
 */
import {
  type Frame,
  type IpcError,
  type Link,
  type LinkHandler,
  msgpackDialect,
  RpcClient,
  type RpcClientOptions,
  RpcServer,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { onCleanup, rejection, until } from './util/harness.js';
import { MemoryNetwork } from './util/memory-link.js';

/** Sends, then (when told to) closes itself before send() returns, without throwing. */
class DroppingLink implements Link {
  readonly transport = 'memory';
  constructor(
    private readonly inner: Link,
    private readonly state: { drop: boolean },
  ) {}
  attach(handler: LinkHandler): void {
    this.inner.attach(handler);
  }
  send(frame: Frame): void | Promise<void> {
    const out = this.inner.send(frame);
    if (this.state.drop) {
      this.state.drop = false;
      this.inner.close();
    }
    return out;
  }
  close(error?: IpcError): void {
    this.inner.close(error);
  }
}

async function setup(options: Partial<RpcClientOptions> = {}) {
  const network = new MemoryNetwork();
  const server = new RpcServer({ dialect: msgpackDialect });
  server.serve(network.listen('s'));
  onCleanup(() => server.close());
  let calls = 0;
  server.handle('m', () => {
    calls++;
    return 'ok';
  });
  const state = { drop: false };
  const connect = network.connector('s');
  const client = new RpcClient({
    dialect: msgpackDialect,
    link: async (signal) => new DroppingLink(await connect(signal), state),
    reconnect: { minDelay: 1, maxDelay: 4 },
    ...options,
  });
  onCleanup(() => client.close());
  await client.start();
  return { client, state, calls: () => calls };
}

describe('a link lost inside send(), after the request was written', () => {
  it('rejects a plain request with CLOSED, and the client reconnects', async () => {
    const { client, state } = await setup();
    state.drop = true;
    expect(await rejection(client.request('m'))).toMatchObject({ code: 'CLOSED' });
    await until(() => client.state === 'open');
    expect(await client.request('m')).toBe('ok');
  });

  it('sends an idempotent request again once reconnected', async () => {
    const { client, state, calls } = await setup({ idempotent: ['m'] });
    state.drop = true;
    expect(await client.request('m')).toBe('ok');
    expect(calls()).toBeGreaterThanOrEqual(1);
    expect(client.inFlight).toBe(0);
  });

  it('rejects with CLOSED without a reconnect policy, and the client is closed', async () => {
    const { client, state } = await setup({ reconnect: false, idempotent: ['m'] });
    state.drop = true;
    expect(await rejection(client.request('m'))).toMatchObject({ code: 'CLOSED' });
    expect(client.state).toBe('closed');
  });
});
