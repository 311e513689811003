// The SeaweedFS RDMA sidecar protocol (wire-formats.md §5) over a Unix socket: a demo engine
// answering Ping and GetCapabilities, and a typed client. Replace the server with the real Rust
// engine (default socket /tmp/rdma-engine.sock) and the client works unchanged.
// Run: node --conditions=@openclaw-ipc/source --import tsx examples/unix-sidecar.ts
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowNs, type SidecarContract, sidecarDemoHandlers, unixTransport } from '@openclaw-ipc/unix';

const url = new URL(`unix://${join(tmpdir(), `rdma-engine-${process.pid}.sock`)}`);

const engine = await unixTransport.listen(url, { dialect: 'sidecar', handlers: sidecarDemoHandlers() });
const client = await unixTransport.connect<SidecarContract>(url, { dialect: 'sidecar' });

// u64 nanosecond timestamps travel exactly: BigInt in, BigInt out (numbers while exact).
const pong = await client.request('Ping', { timestamp_ns: nowNs(), client_id: 'example' });
console.log('Pong', pong);
console.log('capabilities', await client.request('GetCapabilities', {}));

// StartRead comes with the RDMA transport: the demo answers like the engine does for a variant
// it does not serve.
await client
  .request('StartRead', {
    volume_id: 1,
    needle_id: 42n,
    cookie: 7,
    offset: 0,
    size: 0,
    remote_addr: 0x7f00_0000_1000n,
    remote_key: 1,
    timeout_secs: 30,
  })
  .catch((err) => console.log('StartRead:', err.remoteCode, err.message)); // UNSUPPORTED_MESSAGE

client.close();
await engine.close();
