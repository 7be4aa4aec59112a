/**
 * A binary min-heap of (deadline, item): the earliest deadline in O(1), push and pop in O(log n).
 * Engines with thousands of SAs keep their timers here instead of looking through every SA for the
 * next one (issue 23). Entries are never removed early: the owner marks an entry stale (its item's
 * current deadline is another) and drops it when it comes to the top.
 */
export class DeadlineHeap<T> {
  readonly #at: number[] = [];
  readonly #items: T[] = [];

  get size(): number {
    return this.#at.length;
  }

  push(at: number, item: T): void {
    const ats = this.#at;
    const items = this.#items;
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ats[parent]! <= at) break;
      ats[i] = ats[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    ats[i] = at;
    items[i] = item;
  }

  /** The earliest deadline, or undefined when empty. */
  peekAt(): number | undefined {
    return this.#at[0];
  }

  /** The item with the earliest deadline (undefined when empty). */
  peekItem(): T | undefined {
    return this.#items[0];
  }

  /** Removes the earliest entry. */
  pop(): void {
    const ats = this.#at;
    const items = this.#items;
    const lastAt = ats.pop();
    const lastItem = items.pop()!;
    const n = ats.length;
    if (n === 0 || lastAt === undefined) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && ats[child + 1]! < ats[child]!) child++;
      if (ats[child]! >= lastAt) break;
      ats[i] = ats[child]!;
      items[i] = items[child]!;
      i = child;
    }
    ats[i] = lastAt;
    items[i] = lastItem;
  }
}
