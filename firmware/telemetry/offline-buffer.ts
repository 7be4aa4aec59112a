export const DEFAULT_BUFFER_CAPACITY = 1000;

/**
 * A bounded FIFO for events that could not be sent (no broker). When full, the oldest item goes to
 * make room for the newest: recent events say more about the gateway now. Order is kept; `dropped`
 * counts what was lost. A ring, so a full buffer costs nothing per push.
 */
export class OfflineBuffer<T> {
  readonly capacity: number;
  readonly #ring: Array<T | undefined>;
  #head = 0;
  #size = 0;
  #dropped = 0;

  constructor(capacity = DEFAULT_BUFFER_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`offline buffer capacity must be a positive integer, not ${capacity}`);
    this.capacity = capacity;
    this.#ring = new Array<T | undefined>(capacity);
  }

  /** Appends; returns false when the oldest item was dropped to make room. */
  push(item: T): boolean {
    let kept = true;
    if (this.#size === this.capacity) {
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.capacity;
      this.#size--;
      this.#dropped++;
      kept = false;
    }
    this.#ring[(this.#head + this.#size) % this.capacity] = item;
    this.#size++;
    return kept;
  }

  /** Everything held, oldest first; the buffer is empty afterwards. */
  drain(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) {
      const index = (this.#head + i) % this.capacity;
      out.push(this.#ring[index] as T);
      this.#ring[index] = undefined;
    }
    this.#head = 0;
    this.#size = 0;
    return out;
  }

  get size(): number {
    return this.#size;
  }

  /** Items dropped since the buffer was made. */
  get dropped(): number {
    return this.#dropped;
  }
}
