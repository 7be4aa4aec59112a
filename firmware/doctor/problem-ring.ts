import type { ProblemFacts } from './classify.ts';

/**
 * One failed connection attempt as the API, the web UI and MQTT show it; the same refusal repeated
 * (a client or site redialling with a wrong key) is one entry with its count and last time.
 */
export interface ConnectionProblem extends ProblemFacts {
  /** Increasing number, given again each time the entry changes, so a reader can ask for what is new. */
  readonly id: number;
  /** ISO 8601, UTC: the first attempt of this run of repeats. */
  readonly time: string;
  /** Attempts refused this same way (1: once). */
  readonly count: number;
  /** ISO 8601, UTC: the latest of them (equal to `time` when once). */
  readonly lastTime: string;
}

export interface ProblemFilter {
  readonly user?: string;
  readonly site?: string;
  /** Only problems with a larger id. */
  readonly after?: number;
}

export const DEFAULT_PROBLEM_CAPACITY = 500;

/** A repeat this long after the last one starts a new entry: a new episode, not the same run. */
export const REPEAT_WINDOW_MS = 60 * 60_000;

/** The same refusal: who, from where, at which stage, for which cause (the log line may differ). */
const repeatKey = (f: ProblemFacts): string => JSON.stringify([f.protocol, f.stage, f.cause, f.user ?? '', f.site ?? '', f.peer ?? '', f.source ?? '']);

/** The newest failed attempts, oldest dropped first (bounded memory whatever a peer sends). */
export class ProblemRing {
  readonly #capacity: number;
  readonly #items: ConnectionProblem[] = [];
  /** The entry each repeat key last made, while it is in the ring. */
  readonly #byKey = new Map<string, ConnectionProblem>();
  #next = 1;

  constructor(capacity = DEFAULT_PROBLEM_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  /**
   * Stores the problem with its time and number, and returns it. The same refusal again within
   * REPEAT_WINDOW_MS of its last one counts on that entry instead (newest log line kept), which moves
   * to the front with a new number.
   */
  record(facts: ProblemFacts, now: number): ConnectionProblem {
    const key = repeatKey(facts);
    const at = new Date(now).toISOString();
    const before = this.#byKey.get(key);
    let problem: ConnectionProblem;
    if (before && now - Date.parse(before.lastTime) <= REPEAT_WINDOW_MS && now >= Date.parse(before.lastTime)) {
      this.#items.splice(this.#items.indexOf(before), 1);
      problem = { ...before, ...facts, id: this.#next++, count: before.count + 1, lastTime: at };
    } else {
      problem = { id: this.#next++, time: at, ...facts, count: 1, lastTime: at };
    }
    this.#items.push(problem);
    this.#byKey.set(key, problem);
    if (this.#items.length > this.#capacity) {
      for (const gone of this.#items.splice(0, this.#items.length - this.#capacity)) {
        if (this.#byKey.get(repeatKey(gone)) === gone) this.#byKey.delete(repeatKey(gone));
      }
    }
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
