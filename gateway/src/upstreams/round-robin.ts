/** Round-robin over a list that may change between picks; skips items the predicate rejects. */
export class RoundRobin<T> {
  private next = 0;

  pick(items: readonly T[], eligible: (item: T) => boolean = () => true): T | undefined {
    const n = items.length;
    if (n === 0) return undefined;
    const start = this.next % n;
    for (let i = 0; i < n; i++) {
      const index = (start + i) % n;
      const item = items[index]!;
      if (eligible(item)) {
        this.next = index + 1;
        return item;
      }
    }
    return undefined;
  }
}
