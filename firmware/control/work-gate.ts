/**
 * A semaphore with a bounded waiting line, for expensive work started by untrusted requests (password
 * checks). At most `concurrency` run at once; up to `queue` more wait their turn in order; anything
 * beyond is refused at once, so a flood costs the caller a quick "busy" answer and the box no memory
 * or CPU (issue 15.4). The work itself must not block the event loop (async scrypt does not).
 */
export type GateResult<T> = { readonly ran: true; readonly value: T } | { readonly ran: false };

export class WorkGate {
  readonly #concurrency: number;
  readonly #queueLimit: number;
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  readonly counters = { ran: 0, waited: 0, refusedBusy: 0, peakWaiting: 0 };

  constructor(options: { concurrency: number; queue: number }) {
    if (!(options.concurrency >= 1) || !(options.queue >= 0)) throw new Error('WorkGate needs concurrency ≥ 1 and queue ≥ 0');
    this.#concurrency = options.concurrency;
    this.#queueLimit = options.queue;
  }

  /** Runs `work` when a slot is free; `{ ran: false }` at once when the line is full. */
  async run<T>(work: () => Promise<T>): Promise<GateResult<T>> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#queueLimit) {
        this.counters.refusedBusy++;
        return { ran: false };
      }
      this.counters.waited++;
      // The slot is handed over by the finishing run (#running stays counted), so no late arrival jumps the line.
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        this.counters.peakWaiting = Math.max(this.counters.peakWaiting, this.#waiting.length);
      });
    } else {
      this.#running++;
    }
    try {
      this.counters.ran++;
      return { ran: true, value: await work() };
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
