/**
 * The server process of bench/rdma: serves `blob` (the same prefilled bytes every time) and
 * `region` (registers a prefilled region with the provider and returns what a one-sided reader
 * needs) on the URLs given as arguments; prints `ready`.
 */
import type { RpcServer } from '@openclaw-ipc/core';
import { type ProviderEndpoint, providerByName, rdmaTransport } from '@openclaw-ipc/rdma';
import { unixTransport } from '@openclaw-ipc/unix';

const MAX = 80 * 1024 * 1024;
const blobs = new Map<number, Buffer>();
const blob = (size: number): Buffer => {
  let b = blobs.get(size);
  if (!b) blobs.set(size, (b = Buffer.alloc(size, 0x5a)));
  return b;
};

const endpoints = new Map<string, ProviderEndpoint>();
const servers: RpcServer[] = [];
for (const href of process.argv.slice(2)) {
  const url = new URL(href);
  const rdma = url.protocol.startsWith('rdma+');
  const handlers = {
    blob: ({ size }: { size: number }) => blob(size),
    async region({ provider, size }: { provider: 'shm' | 'cma'; size: number }) {
      let ep = endpoints.get(provider);
      if (!ep) {
        ep = await (await providerByName(provider)).open({
          role: 'server',
          controlPath: `${url.pathname}.bench`,
        });
        endpoints.set(provider, ep);
      }
      const bytes = ep.allocate(size);
      bytes.fill(0x5a);
      const r = ep.register(bytes);
      return { descriptor: { ...r.descriptor }, handshake: ep.handshake(), pid: process.pid };
    },
  };
  // The unix baseline queues whole messages on its socket; rdma moves them by rendezvous.
  const server = rdma
    ? await rdmaTransport.listen(url, { maxMessageSize: MAX, handlers })
    : await unixTransport.listen(url, {
        maxMessageSize: MAX,
        maxQueuedBytes: 4 * MAX,
        highWaterMark: MAX,
        handlers,
      });
  servers.push(server);
}
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  for (const s of servers) await s.close();
  for (const e of endpoints.values()) await e.close();
  process.exit(0);
});
