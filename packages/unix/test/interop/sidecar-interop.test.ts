/**
 * The sidecar dialect against peers nobody here wrote the library of: a Go peer using
 * github.com/vmihailenco/msgpack/v5 (the Go sidecar's library, map encoding) and a Rust peer
 * using rmp-serde's compact encoding (the engine's), each as client and as server.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Handler, IpcError, RemoteError, type RpcServer } from '@openclaw-ipc/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompleteReadRequest,
  createSidecarDialect,
  type SidecarContract,
  type StartReadRequest,
  type StartReadResponse,
  sidecarDemoHandlers,
  unixTransport,
} from '../../src/index.js';
import { buildGoPeer, buildRustPeer } from './build.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'oc-sidecar-interop-'));
let goPeer: string;
let rustPeer: string;
let server: RpcServer;
const socket = join(dir, 'engine.sock');

const startRead: Handler<StartReadRequest, StartReadResponse> = (req) => ({
  // Every u64 of the request comes back in another field, so rounding anywhere shows.
  session_id: `s-${req.volume_id}`,
  local_addr: req.remote_addr,
  local_key: req.remote_key,
  transfer_size: req.offset,
  expected_crc: req.cookie,
  expires_at_ns: req.needle_id,
});
const completeRead: Handler<CompleteReadRequest> = (req) => {
  throw new RemoteError(`Session '${req.session_id}' not found`, {
    remoteCode: 'SessionNotFound',
    details: { category: 'session', recoverable: true },
  });
};

beforeAll(async () => {
  // Sequential: two toolchains building at once would crowd the machine.
  goPeer = await buildGoPeer();
  rustPeer = await buildRustPeer();
  server = await unixTransport.listen(new URL(`unix://${socket}`), {
    dialect: 'sidecar',
    handlers: { ...sidecarDemoHandlers(), StartRead: startRead, CompleteRead: completeRead },
  });
}, 900_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function runClient(binary: string, ...args: string[]): Promise<any[]> {
  const { stdout } = await run(binary, args, { timeout: 20_000 });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

/** What both clients must read back for their fixed script (see their sources). */
function expectScriptReplies(replies: any[]): void {
  expect(replies).toHaveLength(7);
  const [ping, ping2, caps, read, complete, bogus, pong] = replies;
  expect(ping.type).toBe('Pong');
  expect(ping.data.client_timestamp_ns).toBe('1700000000123456789');
  expect(BigInt(ping.data.server_timestamp_ns)).toBeGreaterThan(1700000000123456789n);
  expect(BigInt(ping.data.server_rtt_ns)).toBe(
    BigInt(ping.data.server_timestamp_ns) - BigInt(ping.data.client_timestamp_ns),
  );
  expect(ping2.data.client_timestamp_ns).toBe('7');
  expect(caps).toMatchObject({
    type: 'GetCapabilitiesResponse',
    data: { device_name: 'openclaw-ipc-demo', supported_auth: ['none'], real_rdma: false },
  });
  expect(read).toEqual({
    type: 'StartReadResponse',
    data: {
      session_id: 's-3',
      local_addr: '18446744073709551600',
      local_key: 42,
      transfer_size: '9007199254740993',
      expected_crc: 4294967295,
      expires_at_ns: '18446744073709551615',
    },
  });
  expect(complete).toMatchObject({
    type: 'Error',
    data: {
      code: 'SessionNotFound',
      message: "Session 's-1' not found",
      category: 'session',
      recoverable: true,
    },
  });
  const unsupported = {
    type: 'Error',
    data: {
      code: 'UNSUPPORTED_MESSAGE',
      message: 'Unsupported message type',
      category: 'request',
      recoverable: true,
    },
  };
  expect(bogus).toMatchObject(unsupported);
  expect(pong).toMatchObject(unsupported);
}

describe('sidecar interop', () => {
  it('serves the Go client (vmihailenco/msgpack, maps)', async () => {
    expectScriptReplies(await runClient(goPeer, socket));
  });

  it('serves the Rust client (rmp-serde, compact arrays)', async () => {
    expectScriptReplies(await runClient(rustPeer, 'client', socket));
  });

  it('serves both clients at once', async () => {
    const [go, rust] = await Promise.all([runClient(goPeer, socket), runClient(rustPeer, 'client', socket)]);
    expectScriptReplies(go);
    expectScriptReplies(rust);
  });

  it('calls the Rust peer as a server, u64 values exact', async () => {
    const path = join(dir, 'rust-engine.sock');
    const child: ChildProcess = spawn(rustPeer, ['serve', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`rust peer exited ${code}`)));
      });
      const client = await unixTransport.connect<SidecarContract>(new URL(`unix://${path}`), {
        dialect: 'sidecar',
        reconnect: false,
      });
      try {
        const pong = await client.request('Ping', { timestamp_ns: 1700000000123456789n, client_id: 'ts' });
        expect(pong).toEqual({
          client_timestamp_ns: 1700000000123456789n,
          server_timestamp_ns: 1800000000000000001n,
          server_rtt_ns: 100000000000000000n - 123456789n + 1n,
        });
        // Pipelined: the channel pairs replies with requests by order.
        const many = await Promise.all(
          Array.from({ length: 20 }, (_, i) => client.request('Ping', { timestamp_ns: i })),
        );
        expect(many.map((p) => p.client_timestamp_ns)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(await client.request('GetCapabilities', {})).toMatchObject({
          device_name: 'rust-peer',
          vendor_id: 0x02c9,
          max_transfer_size: 2 ** 40,
          port_lid: 7,
        });
        const err = await client
          .request('CompleteRead', { session_id: 'x', success: true, bytes_transferred: 1 })
          .catch((e) => e);
        expect(err).toBeInstanceOf(IpcError);
        expect(err).toMatchObject({
          code: 'REMOTE',
          remoteCode: 'UNSUPPORTED_MESSAGE',
          message: 'Unsupported message type',
          retryable: true,
        });
      } finally {
        client.close();
      }
    } finally {
      child.kill();
    }
  });

  for (const encoding of ['array', 'map'] as const) {
    it(`calls the Go peer as a server, requests in the ${encoding} encoding`, async () => {
      const path = join(dir, `go-${encoding}.sock`);
      const child: ChildProcess = spawn(goPeer, ['serve', path], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout!.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`go peer exited ${code}`)));
        });
        const client = await unixTransport.connect<SidecarContract>(new URL(`unix://${path}`), {
          dialect: createSidecarDialect({ encoding }),
          reconnect: false,
        });
        try {
          expect(await client.request('Ping', { timestamp_ns: 1700000000123456789n })).toEqual({
            client_timestamp_ns: 1700000000123456789n,
            server_timestamp_ns: 1800000000000000001n,
            server_rtt_ns: 100000000000000000n - 123456789n + 1n,
          });
          expect(await client.request('GetCapabilities', { client_id: 'ts' })).toEqual({
            device_name: 'go-peer',
            vendor_id: 0x15b3,
            max_transfer_size: 2 ** 33,
            max_sessions: 8,
            active_sessions: 0,
            port_gid: 'fe80::2',
            port_lid: 3,
            supported_auth: ['none', 'token'],
            version: 'go',
            real_rdma: false,
          });
          // The Go sidecar's three-field error: no category, no recoverable.
          const err = await client
            .request('CompleteRead', { session_id: 's', success: false, bytes_transferred: 0 })
            .catch((e) => e);
          expect(err).toMatchObject({
            code: 'REMOTE',
            remoteCode: 'NOT_SUPPORTED',
            message: 'go peer: CompleteRead',
            details: { details: 'ask the engine' },
          });
          expect(err.retryable).toBeUndefined();
        } finally {
          client.close();
        }
      } finally {
        child.kill();
      }
    });
  }
});
