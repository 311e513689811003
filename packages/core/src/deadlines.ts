/**
 * Many deadlines on one timer. Each request used to own a setTimeout, which costs a Timeout
 * object, a closure and a timer-list insert and removal per request; here deadlines sit in a
 * binary min-heap and one timer is armed for the earliest. Entries that settled before their
 * deadline are not removed one by one: they are skipped when they reach the top, and the heap
 * is rebuilt without them once they outnumber the live ones, so memory stays proportional to the
 * requests in flight.
 */
export interface HasDeadline {
  /** When the entry expires, in performance.now() milliseconds. */
  deadline: number;
}

export class Deadlines<T extends HasDeadline> {
  private heap: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  /**
   * @param isLive whether an entry still waits (settled entries are dropped lazily).
   * @param onExpire called once for each live entry whose deadline has passed.
   */
  constructor(
    private readonly isLive: (entry: T) => boolean,
    private readonly onExpire: (entry: T) => void,
  ) {}

  /** Entries held, live or not (for tests). */
  get size(): number {
    return this.heap.length;
  }

  /** Adds an entry; `liveCount` is how many entries are live, for compaction. */
  add(entry: T, liveCount: number): void {
    if (this.heap.length >= 64 && this.heap.length > 2 * liveCount) this.compact();
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.deadline <= entry.deadline) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
    if (entry.deadline < this.armedAt) this.arm(entry.deadline);
  }

  /** Stops the timer and forgets every entry. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.heap = [];
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(at - performance.now())));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (;;) {
      const top = this.heap[0];
      if (!top) return;
      if (this.isLive(top) && top.deadline > now) {
        this.arm(top.deadline);
        return;
      }
      this.pop();
      if (this.isLive(top)) this.onExpire(top);
    }
  };

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && heap[r]!.deadline < heap[l]!.deadline ? r : l;
      if (heap[child]!.deadline >= last.deadline) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }

  private compact(): void {
    const live = this.heap.filter(this.isLive);
    live.sort((a, b) => a.deadline - b.deadline); // a sorted array is a valid min-heap
    this.heap = live;
  }
}
