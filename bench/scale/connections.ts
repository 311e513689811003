/**
 * bench/scale's connection case: a server holding many open connections, the clients in other
 * processes (HOLDERS of them, each with its share), some of them sending. First WARM_CONNECTIONS
 * connections make requests (the server's code is compiled, its pools made); memory per
 * connection is then the server's growth while the measured ones open and make one request each
 * (after a full GC both times), divided by their number. p99 is over the senders' sequential
 * round trips, all sending at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LineProcess, memoryOf, quantile, startHolders, startServer } from './procs.js';

export interface ConnectionResult {
  system: string;
  connections: number;
  senders: number;
  /** Bytes per connection. */
  rssPer: number;
  heapPer: number;
  heapTotalPer: number;
  /** Growth of `external` per connection (Buffers and other memory outside the JS heap). */
  externalPer: number;
  p50Us: number;
  p99Us: number;
  answered: number;
  expected: number;
}

/** Processes holding the connections: each one's event loop also drives its senders. */
const HOLDERS = 4;
/** Connections opened, and used, before the measured ones. */
const WARM_CONNECTIONS = 200;

/**
 * Runs one server system (`ws-ours`, `ws-raw`, `unix-ours`, `unix-raw`… see server.ts) with
 * `connections` clients, `senders` of which make `requests` round trips each.
 */
export async function measureConnections(
  system: string,
  connections: number,
  senders: number,
  requests: number,
): Promise<ConnectionResult> {
  const kind = system.startsWith('ws') ? 'ws' : system === 'unix-raw' ? 'unix-raw' : 'unix';
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-scale-'));
  const path = join(dir, 'server.sock');
  const { proc: server, first } = await startServer(system, kind === 'ws' ? '' : path);
  const target = kind === 'ws' ? first : path;
  const holders: LineProcess[] = [];
  try {
    holders.push(await startHolders(kind, target, WARM_CONNECTIONS, WARM_CONNECTIONS, 20));
    await holders[0]!.ask('send');
    const before = await memoryOf(server);
    const share = (n: number, i: number) => Math.floor(n / HOLDERS) + (i < n % HOLDERS ? 1 : 0);
    // Opened one holder after the other: the server accepts a steady stream, not four bursts.
    for (let i = 0; i < HOLDERS; i++)
      holders.push(await startHolders(kind, target, share(connections, i), share(senders, i), requests));
    const after = await memoryOf(server);
    const answers = await Promise.all(holders.slice(1).map((h) => h.ask('send')));
    const samples = answers.flatMap((a) => JSON.parse(a) as number[]);
    return {
      system,
      connections,
      senders,
      rssPer: (after.rss - before.rss) / connections,
      heapPer: (after.heapUsed - before.heapUsed) / connections,
      heapTotalPer: (after.heapTotal - before.heapTotal) / connections,
      externalPer: (after.external - before.external) / connections,
      p50Us: quantile(samples, 0.5),
      p99Us: quantile(samples, 0.99),
      answered: samples.length,
      expected: senders * requests,
    };
  } finally {
    await Promise.all(holders.map((h) => h.stop()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
