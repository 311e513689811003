/**
 * TransportPool and ReconnectingTransport: the crate's two helpers, done right. The pool
 * really grows to its maximum when its members are busy and sends each request to the
 * least-loaded member; the reconnecting transport redials on core's reconnect loop (the RPC
 * client's: same backoff, jitter and state events) and never sends a request twice unless told
 * it is idempotent.
 */
import {
  type ConnectionState,
  closedError,
  IpcError,
  type IpcMessage,
  type ReconnectOptions,
  Reconnector,
  ReconnectPolicy,
} from '@openclaw-ipc/core';
import { DEFAULT_ADDRESS } from './factory.js';
import { IpcTransport, type IpcTransportOptions } from './ipc-transport.js';
import type { OperationOptions } from './socket.js';

export interface TransportPoolOptions extends IpcTransportOptions {
  /** Members opened at once. Default 1. */
  min?: number;
  /** Members at most. Default 4. */
  max?: number;
  /** Requests in flight on the least-loaded member before the pool opens another. Default 4. */
  growAt?: number;
  /** Requests in flight per member at most; beyond, with the pool full: POOL_EXHAUSTED. Default 256. */
  maxInFlightPerMember?: number;
}

/** Client connections to one address; requests go to the least-loaded one. */
export class TransportPool {
  private readonly members: IpcTransport[] = [];
  /** Requests in flight per member, counted by the pool (reserved before the first await). */
  private readonly load = new Map<IpcTransport, number>();
  private readonly served = new Map<IpcTransport, number>();
  private readonly opening = new Set<Promise<IpcTransport>>();
  private closed = false;
  readonly min: number;
  readonly max: number;
  private readonly growAt: number;
  private readonly maxPerMember: number;

  private constructor(
    readonly address: string,
    private readonly options: TransportPoolOptions,
  ) {
    this.min = options.min ?? 1;
    this.max = options.max ?? 4;
    this.growAt = options.growAt ?? 4;
    this.maxPerMember = options.maxInFlightPerMember ?? 256;
    if (!(this.min >= 1 && this.max >= this.min)) {
      throw new IpcError(
        'INVALID_ARGUMENT',
        `pool needs 1 <= min <= max, got min ${this.min}, max ${this.max}`,
      );
    }
  }

  /** Opens `min` members. Rejects like IpcTransport.client. */
  static async connect(
    address: string = DEFAULT_ADDRESS,
    options: TransportPoolOptions = {},
  ): Promise<TransportPool> {
    const pool = new TransportPool(address, options);
    try {
      for (let i = 0; i < pool.min; i++) pool.add(await IpcTransport.client(address, options));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  /** Members open now. */
  get size(): number {
    return this.members.length;
  }

  /** Requests answered by each member, in opening order (for observing the spread). */
  get servedPerMember(): number[] {
    return this.members.map((m) => this.served.get(m) ?? 0);
  }

  /**
   * Sends a request on the least-loaded member. When that member has `growAt` or more in
   * flight and the pool is under `max`, a new member is opened for it; while members are
   * opening, busy callers wait for them instead of piling onto the busy ones. Rejects
   * POOL_EXHAUSTED when every member is at `maxInFlightPerMember` and the pool is full, else as
   * IpcTransport.request.
   */
  async request(message: IpcMessage, options: OperationOptions = {}): Promise<IpcMessage> {
    const member = await this.reserve();
    try {
      const reply = await member.request(message, options);
      this.served.set(member, (this.served.get(member) ?? 0) + 1);
      return reply;
    } finally {
      this.load.set(member, (this.load.get(member) ?? 1) - 1);
    }
  }

  /** Closes every member; pending requests reject CLOSED. */
  close(): void {
    this.closed = true;
    for (const m of this.members.splice(0)) m.close();
  }

  /** Picks a member and counts the request on it before returning. */
  private async reserve(): Promise<IpcTransport> {
    for (;;) {
      if (this.closed) throw closedError('pool');
      const best = this.leastLoaded();
      const load = best ? this.load.get(best)! : Number.POSITIVE_INFINITY;
      if (
        load < this.growAt ||
        (this.members.length + this.opening.size >= this.max && this.opening.size === 0)
      ) {
        if (!best || load >= this.maxPerMember) {
          throw new IpcError(
            'POOL_EXHAUSTED',
            `all ${this.members.length} connections have ${this.maxPerMember} requests in flight`,
            { details: { size: this.members.length, max: this.max } },
          );
        }
        this.load.set(best, load + 1);
        return best;
      }
      if (this.members.length + this.opening.size < this.max) {
        try {
          const fresh = await this.grow();
          this.load.set(fresh, this.load.get(fresh)! + 1);
          return fresh;
        } catch (err) {
          if (!best) throw err;
          // Could not grow: fall back on the members there are.
          this.load.set(best, this.load.get(best)! + 1);
          return best;
        }
      }
      // Full once the openings complete: wait for one, then pick again.
      await Promise.race([...this.opening]).catch(() => {});
    }
  }

  private leastLoaded(): IpcTransport | undefined {
    let best: IpcTransport | undefined;
    for (const m of this.members) if (!best || this.load.get(m)! < this.load.get(best)!) best = m;
    return best;
  }

  private async grow(): Promise<IpcTransport> {
    const opening = IpcTransport.client(this.address, this.options);
    this.opening.add(opening);
    try {
      const member = await opening;
      if (this.closed) {
        member.close();
        throw closedError('pool');
      }
      this.add(member);
      return member;
    } finally {
      this.opening.delete(opening);
    }
  }

  private add(member: IpcTransport): void {
    this.members.push(member);
    this.load.set(member, 0);
    this.served.set(member, 0);
  }
}

export interface ReconnectingTransportOptions extends IpcTransportOptions {
  /** The shared reconnect policy (backoff with jitter). Default: core's defaults. */
  reconnect?: ReconnectOptions;
}

/**
 * A client that redials after a lost or refused connection, on core's Reconnector: the first
 * connection is retried under the policy too (state `connecting` meanwhile), a loss redials in
 * the background (`reconnecting`), and after `maxAttempts` failed dials it is `closed` with a
 * CONNECT error.
 */
export class ReconnectingTransport {
  private readonly keeper: Reconnector<IpcTransport>;
  private started = false;

  constructor(
    readonly address: string = DEFAULT_ADDRESS,
    private readonly options: ReconnectingTransportOptions = {},
  ) {
    this.keeper = new Reconnector<IpcTransport>(
      {
        dial: async (signal) => {
          const t = await IpcTransport.client(this.address, this.options);
          if (signal.aborted) {
            t.close();
            throw closedError('transport');
          }
          return t;
        },
        attach: (t, lost) => {
          t.onDisconnect(() => lost(new IpcError('CLOSED', `connection to ${this.address} lost`)));
        },
        discard: (t) => t.close(),
        lost: (t) => t.close(),
      },
      new ReconnectPolicy(options.reconnect),
      'transport',
    );
  }

  get state(): ConnectionState {
    return this.keeper.state;
  }

  /** Observes state changes; returns the unsubscriber. */
  onState(listener: (state: ConnectionState, error?: IpcError) => void): () => void {
    return this.keeper.onState(listener);
  }

  /**
   * Connects (or waits for the connection in progress), retrying under the policy. Rejects
   * CONNECT when the policy gives up, CLOSED after close().
   */
  async connect(): Promise<void> {
    await this.current();
  }

  /**
   * Sends a request, connecting first if needed. When the connection is lost while the request
   * is in flight it rejects CLOSED, unless `idempotent` is true: then it is sent once more on
   * the new connection (the handler may run twice).
   */
  async request(
    message: IpcMessage,
    options: OperationOptions & { idempotent?: boolean } = {},
  ): Promise<IpcMessage> {
    const transport = await this.current();
    try {
      return await transport.request(message, options);
    } catch (err) {
      if (!IpcError.is(err, 'CLOSED') || this.state === 'closed') throw err;
      this.keeper.lost(transport, err);
      if (!options.idempotent) throw err;
      return (await this.current()).request(message, options);
    }
  }

  /** Closes for good: the transport closes, a reconnect in progress stops. */
  close(): void {
    this.keeper.close();
  }

  private current(): Promise<IpcTransport> {
    if (!this.started) {
      this.started = true;
      // Its failure reaches the callers through ready().
      this.keeper.start(true).catch(() => {});
    }
    return this.keeper.ready();
  }
}
