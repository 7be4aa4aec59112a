import type { ProblemFacts } from './classify.ts';

/** One failed connection attempt as the API, the web UI and MQTT show it. */
export interface ConnectionProblem extends ProblemFacts {
  /** Increasing number, so a reader can ask for what is new. */
  readonly id: number;
  /** ISO 8601, UTC. */
  readonly time: string;
}

export interface ProblemFilter {
  readonly user?: string;
  readonly site?: string;
  /** Only problems with a larger id. */
  readonly after?: number;
}

export const DEFAULT_PROBLEM_CAPACITY = 500;

/** The newest failed attempts, oldest dropped first (bounded memory whatever a peer sends). */
export class ProblemRing {
  readonly #capacity: number;
  readonly #items: ConnectionProblem[] = [];
  #next = 1;

  constructor(capacity = DEFAULT_PROBLEM_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  /** Stores the problem with its time and number, and returns it. */
  record(facts: ProblemFacts, now: number): ConnectionProblem {
    const problem: ConnectionProblem = { id: this.#next++, time: new Date(now).toISOString(), ...facts };
    this.#items.push(problem);
    if (this.#items.length > this.#capacity) this.#items.splice(0, this.#items.length - this.#capacity);
    return problem;
  }

  /** Newest first. */
  list(filter: ProblemFilter = {}): ConnectionProblem[] {
    const out: ConnectionProblem[] = [];
    for (let i = this.#items.length - 1; i >= 0; i--) {
      const p = this.#items[i]!;
      if (filter.user !== undefined && p.user !== filter.user) continue;
      if (filter.site !== undefined && p.site !== filter.site) continue;
      if (filter.after !== undefined && p.id <= filter.after) break;
      out.push(p);
    }
    return out;
  }

  get size(): number {
    return this.#items.length;
  }
}
