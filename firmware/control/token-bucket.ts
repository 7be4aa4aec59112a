/** A token bucket on an injected clock: `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(options: { rate: number; burst: number; now: () => number }) {
    this.#rate = options.rate;
    this.#burst = options.burst;
    this.#now = options.now;
    this.#tokens = options.burst;
    this.#at = options.now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole seconds until the next token (at least 1 when empty), for Retry-After. */
  secondsUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate));
  }

  #refill(): void {
    const now = this.#now();
    // A clock stepped backwards adds nothing (and does not go negative).
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.#rate);
    this.#at = now;
  }
}
