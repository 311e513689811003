/**
 * Wake-ups for a reader: fs.watch (inotify on Linux) as a hint, a timer as the fallback. Watch
 * events can be missed or coalesced, so an event only triggers a rescan, and the timer rescans
 * anyway. Rescans never overlap: one that is asked for while another runs follows it once.
 */
import { type FSWatcher, watch } from 'node:fs';

export interface WakeOptions {
  /** Fallback poll period in ms (watch events are hints). Default 100. */
  pollInterval?: number;
  /** Use fs.watch at all. Default true. */
  watch?: boolean;
}

export class Rescanner {
  private running = false;
  private again = false;
  private closed = false;
  private readonly watchers: FSWatcher[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly pollInterval: number;
  private readonly useWatch: boolean;

  /**
   * @param scan one pass over the files; its failures are the caller's to report (it must not
   *   reject).
   */
  constructor(
    private readonly scan: () => Promise<void>,
    options: WakeOptions = {},
  ) {
    this.useWatch = options.watch ?? true;
    this.pollInterval = options.pollInterval ?? 100;
  }

  /** Starts the fallback poll and a first scan. */
  start(): void {
    if (this.closed || this.timer) return;
    this.timer = setInterval(() => this.trigger(), this.pollInterval);
    this.trigger();
  }

  /** Watches `path` (a directory or file) too; a failure to watch leaves the poll alone. */
  watch(path: string): void {
    if (!this.useWatch || this.closed) return;
    try {
      const watcher = watch(path, { persistent: false }, () => this.trigger());
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    } catch {
      // no inotify slot, or the path vanished: the timer still rescans
    }
  }

  /** Asks for a rescan as soon as possible. */
  trigger(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  /** Resolves once every pending rescan has finished. */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 1));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.scan();
    } while (this.again && !this.closed);
    this.running = false;
  }
}
