/**
 * One login attempt from start to answer, in the order that keeps a flood cheap:
 * 1. the limiter (account lock → 429 at once; a throttled source is marked);
 * 2. a token from the global budget, or from the small one throttled sources share (429 when empty), so
 *    a locked-out attacker cannot spend the budget every other source logs in from;
 * 3. a delay for a throttled source (the request waits, holding no hashing slot);
 * 4. the password check through a WorkGate: few at once, a short line, 503 beyond it (issue 15.4);
 * 5. the result booked on the account and the source.
 * A refusal before any check is answered after a short delay (a tarpit): a client that waits for each
 * answer, as a guessing script does, is paced to one attempt a second per connection instead of
 * spinning thousands of cheap refusals a second through the event loop. Delayed answers hold only a
 * timer and the socket, and are bounded: beyond the bound a refusal is answered at once.
 * Budgets run on a monotonic clock (they protect real CPU time); the limiter on the service's clock.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { LoginLimiter, type LoginLimiterOptions } from './login-limiter.ts';
import { TokenBucket } from './token-bucket.ts';
import { WorkGate } from './work-gate.ts';

export type LoginOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401; readonly wrongPassword: true }
  | {
      readonly ok: false;
      readonly status: 429 | 503;
      readonly why: 'account-locked' | 'source-throttled' | 'global-rate' | 'busy';
      readonly retryAfterSeconds: number;
      /** Set when the password was checked and wrong (a throttled source's attempt). */
      readonly wrongPassword?: true;
    };

export interface LoginGuardOptions {
  readonly now?: () => number;
  /** Milliseconds, monotonic; for the budgets. */
  readonly monotonic?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Checks at once; by default one core is left to the event loop (2 on 3+ cores, 1 on 2). */
  readonly concurrency?: number;
  readonly queue?: number;
  /** Attempts a second from all sources together, and the burst. */
  readonly globalRate?: number;
  readonly globalBurst?: number;
  /** The same for throttled sources together. */
  readonly throttledRate?: number;
  readonly throttledBurst?: number;
  readonly throttledDelayMs?: number;
  /** The tarpit: how long a refusal waits, and how many may wait at once. */
  readonly refusalDelayMs?: number;
  readonly maxDelayedRefusals?: number;
  readonly limiter?: Omit<LoginLimiterOptions, 'now'>;
}

export class LoginGuard {
  readonly limiter: LoginLimiter;
  readonly gate: WorkGate;
  readonly #global: TokenBucket;
  readonly #throttled: TokenBucket;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #delayMs: number;
  readonly #refusalDelayMs: number;
  readonly #maxDelayed: number;
  #delayed = 0;
  readonly #counters = { attempts: 0, refusedGlobalRate: 0, refusedThrottledRate: 0, throttledChecks: 0, tarpitted: 0 };

  constructor(options: LoginGuardOptions = {}) {
    const monotonic = options.monotonic ?? (() => performance.now());
    this.limiter = new LoginLimiter({ ...options.limiter, now: options.now ?? Date.now });
    this.gate = new WorkGate({ concurrency: options.concurrency ?? Math.max(1, Math.min(2, availableParallelism() - 1)), queue: options.queue ?? 8 });
    this.#global = new TokenBucket({ rate: options.globalRate ?? 5, burst: options.globalBurst ?? 10, now: monotonic });
    this.#throttled = new TokenBucket({ rate: options.throttledRate ?? 1, burst: options.throttledBurst ?? 2, now: monotonic });
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#delayMs = options.throttledDelayMs ?? 1000;
    this.#refusalDelayMs = options.refusalDelayMs ?? 1000;
    this.#maxDelayed = options.maxDelayedRefusals ?? 256;
  }

  async attempt(account: string, address: string, verify: () => Promise<boolean>): Promise<LoginOutcome> {
    this.#counters.attempts++;
    const outcome = await this.#attempt(account, address, verify);
    if (!outcome.ok && outcome.status !== 401 && !outcome.wrongPassword) await this.#tarpit();
    return outcome;
  }

  async #tarpit(): Promise<void> {
    if (this.#refusalDelayMs <= 0 || this.#delayed >= this.#maxDelayed) return;
    this.#delayed++;
    this.#counters.tarpitted++;
    try {
      await this.#sleep(this.#refusalDelayMs);
    } finally {
      this.#delayed--;
    }
  }

  async #attempt(account: string, address: string, verify: () => Promise<boolean>): Promise<LoginOutcome> {
    const first = this.limiter.assess(account, address);
    if (first.verdict === 'refuse') return { ok: false, status: 429, why: 'account-locked', retryAfterSeconds: first.retryAfterSeconds };
    const bucket = first.throttled ? this.#throttled : this.#global;
    if (!bucket.take()) {
      if (first.throttled) this.#counters.refusedThrottledRate++;
      else this.#counters.refusedGlobalRate++;
      return { ok: false, status: 429, why: first.throttled ? 'source-throttled' : 'global-rate', retryAfterSeconds: Math.max(first.retryAfterSeconds, bucket.secondsUntilToken()) };
    }
    if (first.throttled) {
      this.#counters.throttledChecks++;
      await this.#sleep(this.#delayMs);
    }
    const lockedBefore = this.limiter.accounts.lockedForMs(account) > 0; // and let through as a trusted source
    const checked = await this.gate.run(async () => {
      // The account may have locked while this request waited in line: no hash for it then.
      const now = !lockedBefore && this.limiter.accounts.lockedForMs(account) > 0 ? this.limiter.assess(account, address) : undefined;
      if (now?.verdict === 'refuse') return now;
      const right = await verify();
      // Booked before the slot passes on, so the next in line already sees this failure's lock.
      if (right) this.limiter.success(account, address);
      else this.limiter.failure(account, address);
      return { verdict: 'checked' as const, right };
    });
    if (!checked.ran) return { ok: false, status: 503, why: 'busy', retryAfterSeconds: 1 };
    if (checked.value.verdict === 'refuse') return { ok: false, status: 429, why: 'account-locked', retryAfterSeconds: checked.value.retryAfterSeconds };
    if (checked.value.right) return { ok: true };
    if (!first.throttled) return { ok: false, status: 401, wrongPassword: true };
    const after = this.limiter.assess(account, address);
    return { ok: false, status: 429, why: 'source-throttled', retryAfterSeconds: Math.max(1, after.retryAfterSeconds), wrongPassword: true };
  }

  get counters(): Readonly<Record<string, number>> {
    const gate = this.gate.counters;
    return { ...this.#counters, checks: gate.ran, queued: gate.waited, refusedBusy: gate.refusedBusy, ...this.limiter.counters };
  }
}
