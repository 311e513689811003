/**
 * The demo service of `openclaw-ipc serve`: echo, ping, sleep, fail, count (streamed), blob, and a
 * `tick` event.
 */
import { type Handler, IpcError, RemoteError, type RpcServer, sleep } from '@openclaw-ipc/core';

/** Largest `blob` the demo service will make: 256 MiB. */
export const MAX_DEMO_BLOB = 256 * 1024 * 1024;

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * The handlers of the demo service. `binary` says whether the dialect carries bytes (MessagePack);
 * text dialects get `blob` as base64.
 */
export function demoHandlers(options: { binary?: boolean } = {}): Record<string, Handler> {
  return {
    echo: (params) => params,
    ping: () => ({ pong: true, ts: Date.now() }),
    async sleep(params, ctx) {
      const ms = Number(record(params).ms ?? 0);
      if (!Number.isFinite(ms) || ms < 0)
        throw new IpcError('INVALID_ARGUMENT', '`ms` must be a number >= 0');
      await sleep(ms, ctx.signal);
      return { slept: ms };
    },
    fail(params) {
      const p = record(params);
      const code = typeof p.code === 'string' || typeof p.code === 'number' ? p.code : 'FAILED';
      throw new RemoteError(typeof p.message === 'string' ? p.message : 'failed on request', {
        remoteCode: code,
      });
    },
    /** Streams `{ n }` for n = 1 … `to` (default 10), `ms` apart (default 0): `call --stream`. */
    async *count(params, ctx) {
      const p = record(params);
      const to = Number(p.to ?? 10);
      const ms = Number(p.ms ?? 0);
      if (!Number.isInteger(to) || to < 0 || to > 1_000_000)
        throw new IpcError('INVALID_ARGUMENT', '`to` must be an integer from 0 to 1000000');
      if (!Number.isFinite(ms) || ms < 0)
        throw new IpcError('INVALID_ARGUMENT', '`ms` must be a number >= 0');
      for (let n = 1; n <= to; n++) {
        if (ms > 0) await sleep(ms, ctx.signal);
        yield { n };
      }
    },
    blob(params) {
      const size = Number(record(params).size ?? 0);
      if (!Number.isInteger(size) || size < 0 || size > MAX_DEMO_BLOB) {
        throw new IpcError('INVALID_ARGUMENT', `\`size\` must be an integer from 0 to ${MAX_DEMO_BLOB}`);
      }
      const bytes = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
      return options.binary ? bytes : bytes.toString('base64');
    },
  };
}

/** Emits `tick` {n, ts} to every client each `intervalMs`; returns the stopper. */
export function startDemoTicks(server: RpcServer, intervalMs = 1000): () => void {
  let n = 0;
  const timer = setInterval(() => server.emit('tick', { n: ++n, ts: Date.now() }), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Largest demo needle: 64 MiB. */
export const MAX_DEMO_NEEDLE = 64 * 1024 * 1024;

let lastNeedle: { id: bigint; bytes: Buffer } | undefined;

/**
 * The needles of `openclaw-ipc serve rdma+cma://… --dialect sidecar`: needle N (any volume,
 * any cookie) holds N bytes, byte i being i & 0xff; N at most 64 MiB (larger: not found).
 */
export function demoNeedle(ref: { needle_id: bigint }): Buffer | undefined {
  if (ref.needle_id > BigInt(MAX_DEMO_NEEDLE)) return undefined;
  if (lastNeedle?.id !== ref.needle_id) {
    const bytes = Buffer.allocUnsafe(Number(ref.needle_id));
    for (let i = 0; i < bytes.length; i++) bytes[i] = i & 0xff;
    lastNeedle = { id: ref.needle_id, bytes };
  }
  return lastNeedle.bytes;
}
