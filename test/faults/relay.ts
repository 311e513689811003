/**
 * A TCP relay that delays what crosses it, for fault tests: this kernel has no netem qdisc, so
 * delay and jitter come from here. Each chunk is held `delay ± jitter` ms; chunks of one direction
 * leave in the order they came (a later chunk never overtakes an earlier one, as on a wire).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RelayOptions {
  /** Where to forward. */
  host: string;
  port: number;
  /** One-way delay in ms, each direction. */
  delay: number;
  /** ± this many ms, drawn uniformly per chunk. */
  jitter?: number;
}

/** Forwards `from` to `to`, each chunk after its delay, in order. */
function delayedPipe(from: Socket, to: Socket, delay: number, jitter: number): void {
  const queue: Array<{ due: number; chunk: Buffer }> = [];
  let lastDue = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length && queue[0]!.due <= now) to.write(queue.shift()!.chunk);
    if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0]!.due - now));
    else if (ended) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    const due = Math.max(lastDue, performance.now() + delay + (Math.random() * 2 - 1) * jitter);
    lastDue = due;
    queue.push({ due, chunk });
    if (!timer) timer = setTimeout(flush, Math.max(0, due - performance.now()));
  });
  from.on('end', () => {
    ended = true;
    if (!timer && queue.length === 0) to.end();
  });
}

export class DelayRelay {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(options: RelayOptions): Promise<DelayRelay> {
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(options.port, options.host);
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      delayedPipe(client, upstream, options.delay, options.jitter ?? 0);
      delayedPipe(upstream, client, options.delay, options.jitter ?? 0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new DelayRelay(server, (server.address() as { port: number }).port, sockets);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
