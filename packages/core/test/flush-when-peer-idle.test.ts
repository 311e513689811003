/**
 * RpcClient calls `link.flush()` after a request sent while no other was outstanding (the peer
 * has nothing else of ours to work on), and only then: requests made while others wait are left
 * to the link's batching. Checked on a recording link over the in-memory network.
 */
import {
  type Frame,
  type IpcError,
  type Link,
  type LinkHandler,
  msgpackDialect,
  RpcClient,
  RpcServer,
} from '@openclaw-ipc/core';
import { describe, expect, it } from 'vitest';
import { onCleanup } from './util/harness.js';
import { MemoryNetwork } from './util/memory-link.js';

/** Records its sends and flushes, in order. */
class RecordingLink implements Link {
  readonly transport = 'memory';
  readonly log: string[] = [];
  constructor(private readonly inner: Link) {}
  attach(handler: LinkHandler): void {
    this.inner.attach(handler);
  }
  send(frame: Frame): void | Promise<void> {
    this.log.push('send');
    return this.inner.send(frame);
  }
  flush(): void {
    this.log.push('flush');
  }
  close(error?: IpcError): void {
    this.inner.close(error);
  }
}

describe('the client flushes its link when the peer is idle', () => {
  it('after a request with nothing outstanding; not after those made while others wait', async () => {
    const network = new MemoryNetwork();
    const server = new RpcServer({ dialect: msgpackDialect });
    server.serve(network.listen('s'));
    onCleanup(() => server.close());
    server.handle('echo', (p) => p);
    const connect = network.connector('s');
    let link: RecordingLink | undefined;
    const client = new RpcClient({
      dialect: msgpackDialect,
      link: async (signal) => (link = new RecordingLink(await connect(signal))),
    });
    onCleanup(() => client.close());
    await client.start();
    link!.log.length = 0;

    // One at a time: each request finds nothing outstanding.
    for (let i = 0; i < 3; i++) await client.request('echo', i);
    expect(link!.log).toEqual(['send', 'flush', 'send', 'flush', 'send', 'flush']);

    // Five in one tick: the first flushes, the four made while it waits do not.
    link!.log.length = 0;
    const five = await Promise.all([1, 2, 3, 4, 5].map((i) => client.request('echo', i)));
    expect(five).toEqual([1, 2, 3, 4, 5]);
    expect(link!.log).toEqual(['send', 'flush', 'send', 'send', 'send', 'send']);
  });
});
