// Large messages over the rdma transport: a request carrying 8 MiB and a reply carrying
// 16 MiB never go through the control socket; each is registered by its sender and read
// one-sidedly by its receiver (here over shared memory), CRC32C checked.
// Use rdma+cma:// for cross-memory attach (process_vm_readv) instead of shared memory.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/rdma-blob.ts
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c, rdmaTransport } from '@openclaw-ipc/rdma';

const url = new URL(`rdma+shm://${join(tmpdir(), `rdma-example-${process.pid}.sock`)}`);

const server = await rdmaTransport.listen(url, {
  handlers: {
    checksum: ({ data }: { data: Uint8Array }) => ({ bytes: data.byteLength, crc: crc32c(data) }),
    blob: ({ size }: { size: number }) => Buffer.alloc(size, 0xab),
  },
});
const client = await rdmaTransport.connect(url);

const data = Buffer.alloc(8 * 1024 * 1024, 0x5a);
const sum = (await client.request('checksum', { data })) as { bytes: number; crc: number };
console.log('server saw', sum.bytes, 'bytes, CRC32C matches:', sum.crc === crc32c(data)); // true

const blob = (await client.request('blob', { size: 16 * 1024 * 1024 })) as Uint8Array;
console.log('received', blob.byteLength, 'bytes'); // 16777216

client.close();
await server.close();
