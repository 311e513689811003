/**
 * Wake-ups for a reader: fs.watch (inotify on Linux) as a hint, a timer as the fallback. Watch
 * events can be missed or coalesced, so an event only triggers a rescan, and the timer rescans
 * anyway. Rescans never overlap: one that is asked for while another runs follows it once.
 *
 * A rescan is full or quick. The timer always asks for a full one; a watch event asks for what
 * its classifier says (or none: an event about a file the reader does not read). Requests made
 * while a rescan runs merge: the next one is full if any of them was.
 */
import { type FSWatcher, watch } from 'node:fs';

export interface WakeOptions {
  /** Fallback poll period in ms (watch events are hints). Default 100. */
  pollInterval?: number;
  /** Use fs.watch at all. Default true. */
  watch?: boolean;
}

/** What a watch event asks for: a full rescan, a quick one, or nothing. */
export type WakeKind = 'full' | 'quick' | 'none';

/** Classifies one fs.watch event (`filename` may be null where the platform does not say). */
export type WatchClassifier = (eventType: string, filename: string | null) => WakeKind;

export class Rescanner {
  private running = false;
  private again = false;
  private full = true;
  private closed = false;
  private readonly watchers: FSWatcher[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly pollInterval: number;
  private readonly useWatch: boolean;
  private idleWaiters: Array<() => void> = [];

  /**
   * @param scan one pass over the files, full or quick; its failures are the caller's to report
   *   (it must not reject).
   */
  constructor(
    private readonly scan: (full: boolean) => Promise<void>,
    options: WakeOptions = {},
  ) {
    this.useWatch = options.watch ?? true;
    this.pollInterval = options.pollInterval ?? 100;
  }

  /** Starts the fallback poll and a first (full) scan. */
  start(): void {
    if (this.closed || this.timer) return;
    this.timer = setInterval(() => this.trigger(), this.pollInterval);
    this.trigger();
  }

  /**
   * Watches `path` (a directory or file) too; each event is classified by `classify` (default:
   * a full rescan). A failure to watch leaves the poll alone.
   */
  watch(path: string, classify: WatchClassifier = () => 'full'): void {
    if (!this.useWatch || this.closed) return;
    try {
      const watcher = watch(path, { persistent: false }, (eventType, filename) => {
        const kind = classify(eventType, typeof filename === 'string' ? filename : null);
        if (kind !== 'none') this.trigger(kind === 'full');
      });
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    } catch {
      // no inotify slot, or the path vanished: the timer still rescans
    }
  }

  /** Asks for a rescan (full by default) as soon as possible. */
  trigger(full = true): void {
    if (this.closed) return;
    if (full) this.full = true;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  /** Resolves once every pending rescan has finished. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
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
      const full = this.full;
      this.full = false;
      await this.scan(full);
    } while (this.again && !this.closed);
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
