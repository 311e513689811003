/**
 * Entries by string id, for the short-lived ones a client or server keeps while a request is in
 * flight (requests awaiting their reply, handlers running). Used instead of a Map on those paths.
 *
 * Why not a Map: a Map whose entries come and go grows a new hash table every so many inserts, and
 * the table it leaves keeps its entries and a link to its successor (for iterators that may still
 * walk it). When the garbage collector has moved one such left-over table to the old generation,
 * every minor collection treats it as live until the next full one: it keeps its successor alive,
 * that one the next, and with them every entry each of them held. Measured on the RPC client with
 * 64 requests in flight, about a fifth of each minor collection's young objects survived this way
 * (requests long settled, with their messages and promises), and collections took a fifth of the
 * client's time. An object used as a dictionary grows its table without such a link, and a
 * deleted entry drops its value at once.
 *
 * Iteration order: ids that are array indices (the decimal ids clients count with) in ascending
 * order, then the others in the order they were added.
 */
export class IdTable<T> {
  private entries: Record<string, T> = Object.create(null);
  private count = 0;

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  get(id: string): T | undefined {
    return this.entries[id];
  }

  has(id: string): boolean {
    return this.entries[id] !== undefined;
  }

  /** Adds or replaces the entry of `id` (`value` must not be undefined). */
  set(id: string, value: T): this {
    const entries = this.entries;
    if (entries[id] === undefined) this.count++;
    entries[id] = value;
    return this;
  }

  /** Removes the entry of `id`; whether there was one. */
  delete(id: string): boolean {
    const entries = this.entries;
    if (entries[id] === undefined) return false;
    delete entries[id];
    this.count--;
    return true;
  }

  /** The entries, as an array (a snapshot: the table may change while it is walked). */
  values(): T[] {
    return this.count === 0 ? [] : Object.values(this.entries);
  }

  clear(): void {
    this.entries = Object.create(null);
    this.count = 0;
  }
}
