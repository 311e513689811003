/**
 * A bounded set of the ids already delivered, oldest forgotten first. ipckit remembers only the
 * last (timestamp, id) it saw, which repeats messages that share a millisecond; remembering
 * every id of the window the format keeps (100 messages) and more removes that.
 */
export class DeliveredIds {
  private readonly ids = new Set<string>();

  /** @param capacity ids remembered; must exceed the number of messages a file can hold. */
  constructor(readonly capacity = 10_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`; forgets the oldest one when full. */
  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
