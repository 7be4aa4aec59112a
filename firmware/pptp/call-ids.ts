/*
 * Our PPTP Call IDs (RFC 2637 §2.7: the peer puts them in every enhanced GRE packet of the call).
 * One allocator for the whole gateway, since the GRE channel finds calls by this ID alone: random,
 * so they cannot be guessed from the last one, and never handed out twice while the call lives.
 * Zero is avoided (some clients treat it as "none").
 */
export class CallIdAllocator {
  readonly #live = new Set<number>();
  readonly #random: (n: number) => Uint8Array;

  constructor(random: (n: number) => Uint8Array) {
    this.#random = random;
  }

  /** A free Call ID, or undefined when all 65,535 are in use. */
  allocate(): number | undefined {
    const draw = () => {
      const r = this.#random(2);
      return 1 + (((r[0]! << 8) | r[1]!) % 0xffff);
    };
    for (let i = 0; i < 16; i++) {
      const id = draw();
      if (!this.#live.has(id)) return this.#take(id);
    }
    // Nearly full: walk from a random point (bounded by the ID space).
    const start = draw();
    for (let i = 0; i < 0xffff; i++) {
      const id = 1 + ((start - 1 + i) % 0xffff);
      if (!this.#live.has(id)) return this.#take(id);
    }
    return undefined;
  }

  release(id: number): void {
    this.#live.delete(id);
  }

  get size(): number {
    return this.#live.size;
  }

  #take(id: number): number {
    this.#live.add(id);
    return id;
  }
}

/** Control connections per source address and in all (a TCP 1723 flood must not starve real clients). */
export class ConnectionLimits {
  readonly #bySource = new Map<string, number>();
  #total = 0;

  constructor(readonly perSource: number, readonly total: number) {}

  /** Whether one more connection from this address may open; counted when it may. */
  admit(source: string): boolean {
    const n = this.#bySource.get(source) ?? 0;
    if (n >= this.perSource || this.#total >= this.total) return false;
    this.#bySource.set(source, n + 1);
    this.#total++;
    return true;
  }

  release(source: string): void {
    const n = this.#bySource.get(source);
    if (n === undefined) return;
    if (n <= 1) this.#bySource.delete(source);
    else this.#bySource.set(source, n - 1);
    this.#total--;
  }

  get open(): number {
    return this.#total;
  }
}
