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
 * client's time. Nor an object used as a dictionary: a key that is not an array index is
 * interned, one string-table entry per request until a full collection.
 *
 * Here: open addressing with linear probing over arrays that are reused while the table keeps its
 * size (a removed entry's slot is cleared at once, and later entries of its run move back into
 * it), the hash of each id kept beside it. The arrays grow at half full, and shrink when the most
 * entries held over a capacity's worth of removals would fill less than a quarter of smaller ones.
 */

/** Seeded per process, so that a peer cannot pick ids that all land on one slot of a server. */
const SEED = (Math.random() * 0x100000000) >>> 0;
const MIN_CAPACITY = 16;

function hashOf(id: string): number {
  let h = SEED ^ id.length;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

export class IdTable<T> {
  private keys: Array<string | undefined> = [];
  private vals: Array<T | undefined> = [];
  private hashes = new Int32Array(0);
  /** When each entry was added, for values() in that order. */
  private order = new Float64Array(0);
  private mask = 0;
  private count = 0;
  private added = 0;
  /** The most entries held since the last look at shrinking, and removals since then. */
  private peak = 0;
  private removals = 0;

  constructor() {
    this.allocate(MIN_CAPACITY);
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  get(id: string): T | undefined {
    const i = this.slotOf(id, hashOf(id));
    return i < 0 ? undefined : this.vals[i];
  }

  has(id: string): boolean {
    return this.slotOf(id, hashOf(id)) >= 0;
  }

  /** Adds or replaces the entry of `id`. */
  set(id: string, value: T): this {
    const h = hashOf(id);
    const keys = this.keys;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const k = keys[i];
      if (k === undefined) break;
      if (k === id) {
        this.vals[i] = value;
        return this;
      }
      i = (i + 1) & mask;
    }
    keys[i] = id;
    this.vals[i] = value;
    this.hashes[i] = h;
    this.order[i] = this.added++;
    if (++this.count > this.peak) {
      this.peak = this.count;
      if (this.count * 2 > mask + 1) this.allocate((mask + 1) * 2);
    }
    return this;
  }

  /** Removes the entry of `id`; whether there was one. */
  delete(id: string): boolean {
    let i = this.slotOf(id, hashOf(id));
    if (i < 0) return false;
    const keys = this.keys;
    const vals = this.vals;
    const hashes = this.hashes;
    const order = this.order;
    const mask = this.mask;
    // Backward shift: entries after the hole whose home slot is not between the hole and them
    // move into it, so that every run stays unbroken and no tombstones are needed.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j];
      if (k === undefined) break;
      const home = hashes[j]! & mask;
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      keys[i] = k;
      vals[i] = vals[j];
      hashes[i] = hashes[j]!;
      order[i] = order[j]!;
      i = j;
    }
    keys[i] = undefined;
    vals[i] = undefined;
    this.count--;
    // Every capacity's worth of removals (at most 1024): smaller arrays if the peak since the last
    // look would fit in an eighth of them (a client that goes from 0 to 64 in flight and back
    // again and again keeps its size; one that had a burst gives the memory back).
    if (++this.removals > Math.min(mask, 1023) && mask + 1 > MIN_CAPACITY) {
      let capacity = mask + 1;
      while (capacity > MIN_CAPACITY && this.peak * 8 <= capacity) capacity /= 2;
      if (capacity <= mask) this.allocate(capacity);
      this.peak = this.count;
      this.removals = 0;
    }
    return true;
  }

  /** The entries in the order they were added, as an array (the table may change meanwhile). */
  values(): T[] {
    if (this.count === 0) return [];
    const slots: number[] = [];
    for (let i = 0; i <= this.mask; i++) if (this.keys[i] !== undefined) slots.push(i);
    slots.sort((a, b) => this.order[a]! - this.order[b]!);
    return slots.map((i) => this.vals[i] as T);
  }

  clear(): void {
    this.keys = [];
    this.count = 0;
    this.peak = 0;
    this.removals = 0;
    this.allocate(MIN_CAPACITY);
  }

  /** The slot of `id`, or -1. */
  private slotOf(id: string, h: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const k = keys[i];
      if (k === undefined) return -1;
      if (k === id) return i;
      i = (i + 1) & mask;
    }
  }

  /** New arrays of `capacity` slots (a power of two), with the entries moved over. */
  private allocate(capacity: number): void {
    const { keys, vals, hashes, order } = this;
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.vals = new Array<T | undefined>(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.order = new Float64Array(capacity);
    this.mask = capacity - 1;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      if (k === undefined) continue;
      let i = hashes[j]! & this.mask;
      while (this.keys[i] !== undefined) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.vals[i] = vals[j];
      this.hashes[i] = hashes[j]!;
      this.order[i] = order[j]!;
    }
  }
}
