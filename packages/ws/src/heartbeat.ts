/**
 * Ping/pong liveness: every `interval` ms each link is pinged; a link that has not answered
 * (pong or any frame) since the previous ping is dead and is terminated.
 */
import { IpcError } from '@openclaw-ipc/core';
import type { WsLink } from './ws-link.js';

/** Default heartbeat interval, in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL = 30_000;

export class Heartbeat {
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  /** `links` is read at every beat; `interval` 0 disables the heartbeat. */
  constructor(
    private readonly links: () => Iterable<WsLink>,
    readonly interval: number = DEFAULT_HEARTBEAT_INTERVAL,
  ) {
    if (interval > 0) {
      this.timer = setInterval(() => this.beat(), interval);
      this.timer.unref();
    }
  }

  private beat(): void {
    for (const link of this.links()) {
      if (!link.alive) {
        link.close(new IpcError('TIMEOUT', `no pong within ${this.interval} ms: peer is dead`));
        continue;
      }
      link.alive = false;
      link.ping();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
