/**
 * Login throttling per source address: after 5 failures in a row the address is locked out for 30 s,
 * doubling with each further failure up to an hour. Bounded: at most `maxAddresses` are tracked, the
 * least recently seen forgotten first, so a flood of addresses cannot grow it without limit.
 */
export interface LoginVerdict {
  readonly allowed: boolean;
  readonly retryAfterSeconds: number;
}

interface Record_ {
  failures: number;
  lockedUntil: number;
  seen: number;
}

export class LoginLimiter {
  readonly #records = new Map<string, Record_>();
  readonly #now: () => number;
  readonly #maxAddresses: number;
  readonly counters = { failures: 0, lockouts: 0, refusedWhileLocked: 0 };

  constructor(options: { now?: () => number; maxAddresses?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxAddresses = options.maxAddresses ?? 1024;
  }

  check(address: string): LoginVerdict {
    const r = this.#records.get(address);
    const now = this.#now();
    if (r && r.lockedUntil > now) {
      this.counters.refusedWhileLocked++;
      return { allowed: false, retryAfterSeconds: Math.ceil((r.lockedUntil - now) / 1000) };
    }
    return { allowed: true, retryAfterSeconds: 0 };
  }

  failure(address: string): void {
    const now = this.#now();
    this.counters.failures++;
    const r = this.#records.get(address) ?? { failures: 0, lockedUntil: 0, seen: now };
    r.failures++;
    r.seen = now;
    if (r.failures >= 5) {
      const seconds = Math.min(3600, 30 * 2 ** (r.failures - 5));
      r.lockedUntil = now + seconds * 1000;
      this.counters.lockouts++;
    }
    this.#records.delete(address);
    this.#records.set(address, r); // most recent last
    while (this.#records.size > this.#maxAddresses) this.#records.delete(this.#records.keys().next().value as string);
  }

  success(address: string): void {
    this.#records.delete(address);
  }

  get tracked(): number {
    return this.#records.size;
  }
}
