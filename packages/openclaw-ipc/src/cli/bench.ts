/**
 * `openclaw-ipc bench`: round trips per second and latency percentiles against any URL.
 */
import { IpcError } from '@openclaw-ipc/core';
import { connect } from '../registry.js';
import type { UrlConnectOptions } from '../url-options.js';
import { ProgressBar } from './progress.js';

export interface BenchOptions {
  /** Bytes of payload per request (echo), or bytes requested per call (blob). Default 64. */
  size?: number;
  /** Requests in flight at once. Default 1. */
  concurrency?: number;
  /** Seconds to run. Default 5. */
  duration?: number;
  /** 'echo' (default) sends `size` bytes and gets them back; 'blob' asks for `size` bytes. */
  method?: 'echo' | 'blob';
  /** Requests before measuring starts. Default 100. */
  warmup?: number;
  dialect?: string;
  /** Show a progress bar on stderr. Default false. */
  progress?: boolean;
  /** Extra options for connect(): the client's and the URL's transport's. */
  connectOptions?: UrlConnectOptions<string>;
}

export interface BenchResult {
  url: string;
  method: string;
  size: number;
  concurrency: number;
  requests: number;
  seconds: number;
  /** Round trips per second. */
  rps: number;
  /** Latency percentiles in microseconds. */
  p50: number;
  p99: number;
  /** Payload bytes per second (both directions for echo, one for blob). */
  bytesPerSecond: number;
}

/** Latency samples kept for percentiles; beyond it, every other sample is dropped evenly. */
const MAX_SAMPLES = 2_000_000;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs the benchmark against a server of the demo service (`openclaw-ipc serve`). */
export async function runBench(url: string, options: BenchOptions = {}): Promise<BenchResult> {
  const size = options.size ?? 64;
  const concurrency = options.concurrency ?? 1;
  const duration = options.duration ?? 5;
  const method = options.method ?? 'echo';
  if (!(size >= 0) || !(concurrency >= 1) || !(duration > 0)) {
    throw new IpcError('INVALID_ARGUMENT', 'bench needs size >= 0, concurrency >= 1, duration > 0');
  }
  const client = await connect(url, {
    ...options.connectOptions,
    dialect: options.dialect,
    reconnect: false,
    maxInFlight: Math.max(1024, concurrency),
  });
  try {
    const binary = client.dialect.frames === 'binary';
    const params =
      method === 'blob' ? { size } : binary ? { data: Buffer.alloc(size, 0x61) } : { data: 'a'.repeat(size) };
    for (let i = 0; i < (options.warmup ?? 100); i++) await client.request(method, params);

    let samples = new Float64Array(Math.min(MAX_SAMPLES, 1 << 16));
    let count = 0;
    let stride = 1;
    let requests = 0;
    const bar = options.progress ? new ProgressBar(duration * 1000) : undefined;
    const start = performance.now();
    const deadline = start + duration * 1000;
    const record = (us: number) => {
      requests++;
      if (requests % stride !== 0) return;
      if (count === samples.length) {
        if (samples.length < MAX_SAMPLES) {
          const grown = new Float64Array(Math.min(MAX_SAMPLES, samples.length * 2));
          grown.set(samples);
          samples = grown;
        } else {
          // Keep every other sample and halve the sampling rate from now on.
          for (let i = 0; i < count / 2; i++) samples[i] = samples[i * 2]!;
          count = Math.floor(count / 2);
          stride *= 2;
        }
      }
      samples[count++] = us;
    };
    const worker = async () => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= deadline) return;
        await client.request(method, params);
        record((performance.now() - t0) * 1000);
        if (bar && (requests & 0xff) === 0) {
          const elapsed = performance.now() - start;
          bar.update(elapsed, `${requests} requests, ${Math.round(requests / (elapsed / 1000))}/s`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - start) / 1000;
    bar?.done();
    const sorted = samples.subarray(0, count).sort();
    const perRequest = method === 'blob' ? size : size * 2;
    return {
      url,
      method,
      size,
      concurrency,
      requests,
      seconds,
      rps: requests / seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      bytesPerSecond: (requests * perRequest) / seconds,
    };
  } finally {
    client.close();
  }
}

/** Human units: 1.23 GB/s, 45.6 MB/s. */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1e9) return `${(bytesPerSecond / 1e9).toFixed(2)} GB/s`;
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
}
