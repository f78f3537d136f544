/**
 * Items in insertion order, for the oldest of a Map or Set that is also deleted from anywhere. A Map's own
 * iteration from the front walks over the slots of entries deleted since its last rehash, so taking the oldest
 * of a Map that churns costs up to its capacity each time; here taking it is O(1) amortized. Items removed from
 * the owner elsewhere are skipped when they reach the front (`live` tells), and dropped in a compaction once
 * they outnumber the live ones, so the queue stays within twice its owner's size (plus a constant).
 */
export class InsertionQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  constructor(private readonly live: (item: T) => boolean) {}

  /** Adds `item` at the back; `liveCount` is how many items the owner holds now. */
  push(item: T, liveCount: number): void {
    this.items.push(item);
    if (this.items.length - this.head > 2 * liveCount + 1024) {
      this.items = this.items.slice(this.head).filter((i) => i !== undefined && this.live(i));
      this.head = 0;
    }
  }

  /** The oldest live item, or undefined. */
  peek(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head]!;
      if (this.live(item)) return item;
      this.items[this.head++] = undefined;
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }

  /** The live items, oldest first. */
  *values(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined && this.live(item)) yield item;
    }
  }

  /** Takes the oldest live item off the queue (the owner removes it itself). */
  shift(): T | undefined {
    const item = this.peek();
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
