/**
 * The counters behind `client.stats()` and `server.stats()`: plain numbers bumped on the request
 * path (no allocation per request), and a fixed-size latency histogram. A snapshot is copied out
 * on demand.
 */
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import type { IpcMessage } from './message.js';

export type { LatencySummary } from './histogram.js';

/** What `client.stats()` returns: a snapshot, counted since the client was made. */
export interface ClientStats {
  /** Requests pending now (sent, or waiting for a connection). */
  readonly inFlight: number;
  /** Requests made (each attempt of a retried request counts). */
  readonly total: number;
  /** Failed requests by IpcError code (TIMEOUT, CLOSED, …; REMOTE for a handler's error). */
  readonly errors: Readonly<Record<string, number>>;
  /** Bytes of the frames received and written (UTF-8 bytes for text frames). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Times the connection was opened again after a loss (or a failover switch). */
  readonly reconnects: number;
  /** The time from request() to its settling, over every request made. */
  readonly latency: LatencySummary;
}

/** What `server.stats()` returns: a snapshot, counted since the server was made. */
export interface ServerStats {
  /** Requests being handled now. */
  readonly inFlight: number;
  /** Requests received and dispatched. */
  readonly total: number;
  /** Error replies by the code sent (AUTH, METHOD_NOT_FOUND, INTERNAL, CAPACITY, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** Bytes of the frames received and written (UTF-8 bytes for text frames). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Duplex connections open now, and accepted in all. */
  readonly connections: number;
  readonly connectionsTotal: number;
  /** The time from receiving a request to its reply being ready. */
  readonly latency: LatencySummary;
}

/** The counters both ends keep. */
export class RequestCounters {
  total = 0;
  settled = 0;
  bytesIn = 0;
  bytesOut = 0;
  private readonly errors = new Map<string, number>();
  readonly latency = new LatencyHistogram();

  /** A request that started at `start` (performance.now()) has settled, failed with `code` if set. */
  done(start: number, code?: string): void {
    this.settled++;
    this.latency.record(performance.now() - start);
    if (code !== undefined) this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** A request refused before it ran (a server at maxConcurrent): counted under `code`. */
  refused(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** A server's reply is ready: counts it, its failure code if it is an error reply; returns it. */
  replied(reply: IpcMessage, start: number): IpcMessage {
    const p = reply.payload;
    this.done(start, p.type === 'response' && !p.success ? String(p.code ?? 'REMOTE') : undefined);
    return reply;
  }

  errorCounts(): Record<string, number> {
    return Object.fromEntries(this.errors);
  }
}
