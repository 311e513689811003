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
 * Here: open addressing with linear probing over an array of slots that is reused while the table
 * keeps its size (a removed entry's slot is cleared at once, and later entries of its run move back
 * into it). The array grows at half full, and shrinks when the most entries held over its last
 * removals would fill less than an eighth of a smaller one.
 */

/** Seeded per process, so that a peer cannot pick ids that all land on one slot of a server. */
const SEED = (Math.random() * 0x100000000) >>> 0;
const MIN_CAPACITY = 16;

function hashOf(id: string): number {
  let h = SEED ^ id.length;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return h ^ (h >>> 13);
}

interface Slot<T> {
  readonly id: string;
  value: T;
  readonly hash: number;
  /** When it was added, for values() in that order. */
  readonly seq: number;
}

const emptySlots = <T>(capacity: number): Array<Slot<T> | undefined> =>
  new Array<Slot<T> | undefined>(capacity).fill(undefined);

export class IdTable<T> {
  private slots = emptySlots<T>(MIN_CAPACITY);
  private count = 0;
  private seq = 0;
  /** The most entries held since the last look at shrinking, and removals since then. */
  private peak = 0;
  private removals = 0;

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  get(id: string): T | undefined {
    const i = this.find(id, hashOf(id));
    return i < 0 ? undefined : this.slots[i]!.value;
  }

  has(id: string): boolean {
    return this.find(id, hashOf(id)) >= 0;
  }

  /** Adds or replaces the entry of `id`. */
  set(id: string, value: T): this {
    const hash = hashOf(id);
    const slots = this.slots;
    const i = this.find(id, hash);
    if (i >= 0) {
      slots[i]!.value = value;
      return this;
    }
    slots[~i] = { id, value, hash, seq: this.seq++ };
    if (++this.count > this.peak) {
      this.peak = this.count;
      if (this.count * 2 > slots.length) this.resize(slots.length * 2);
    }
    return this;
  }

  /** Removes the entry of `id`; whether there was one. */
  delete(id: string): boolean {
    let i = this.find(id, hashOf(id));
    if (i < 0) return false;
    const slots = this.slots;
    const mask = slots.length - 1;
    // Backward shift: entries after the hole whose home slot is not between the hole and them
    // move into it, so that every run stays unbroken and no tombstones are needed.
    for (let j = (i + 1) & mask, s = slots[j]; s !== undefined; j = (j + 1) & mask, s = slots[j]) {
      const home = s.hash & mask;
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      slots[i] = s;
      i = j;
    }
    slots[i] = undefined;
    this.count--;
    // Every capacity's worth of removals (at most 1024): a smaller array if the peak since the
    // last look would fit in an eighth of it (a client that goes from 0 to 64 in flight and back
    // again and again keeps its size; one that had a burst gives the memory back).
    if (++this.removals > Math.min(mask, 1023)) {
      let capacity = slots.length;
      while (capacity > MIN_CAPACITY && this.peak * 8 <= capacity) capacity /= 2;
      if (capacity < slots.length) this.resize(capacity);
      this.peak = this.count;
      this.removals = 0;
    }
    return true;
  }

  /** The entries in the order they were added, as an array (the table may change meanwhile). */
  values(): T[] {
    const used = this.slots.filter((s) => s !== undefined);
    return used.sort((a, b) => a.seq - b.seq).map((s) => s.value);
  }

  clear(): void {
    this.slots = emptySlots(MIN_CAPACITY);
    this.count = this.peak = this.removals = 0;
  }

  /** The slot of `id` (whose hash is `hash`), or, when absent, ~ the empty slot it would take. */
  private find(id: string, hash: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    for (let s = slots[i]; s !== undefined; s = slots[i]) {
      if (s.id === id) return i;
      i = (i + 1) & mask;
    }
    return ~i;
  }

  /** A new array of `capacity` slots (a power of two), the entries moved over. */
  private resize(capacity: number): void {
    const slots = emptySlots<T>(capacity);
    const mask = capacity - 1;
    for (const s of this.slots) {
      if (s === undefined) continue;
      let i = s.hash & mask;
      while (slots[i] !== undefined) i = (i + 1) & mask;
      slots[i] = s;
    }
    this.slots = slots;
  }
}
