/**
 * Who may try a password now: per-account backoff (account-backoff.ts) plus per-source throttling whose
 * memory volume cannot flush (source-throttle.ts). Pure bookkeeping on an injected clock; the login
 * guard (login-guard.ts) adds the global rate, the bounded hashing and the answers.
 *
 * The right password from a throttled source (issue 15.5: an administrator behind the attacker's NAT
 * was refused even with the right password): a source lock does not refuse outright. Its attempts are
 * still checked, but slowly (a delay and a small shared budget, in the guard), a wrong one is answered
 * 429 with Retry-After, and the right one logs in, provided the account itself is not locked. What
 * stops guessing from such a source is the account's backoff, which every failure feeds; what protects
 * the other sources' logins is that throttled sources draw on their own small budget.
 */
import { AccountBackoff, type AccountBackoffOptions } from './account-backoff.ts';
import { SourceThrottle, sourceKeys, type SourceThrottleOptions } from './source-throttle.ts';

export type LoginAssessment =
  | { readonly verdict: 'refuse'; readonly retryAfterSeconds: number }
  | { readonly verdict: 'check'; readonly throttled: boolean; readonly retryAfterSeconds: number };

export interface LoginLimiterOptions {
  readonly now?: () => number;
  readonly sources?: Omit<SourceThrottleOptions, 'now'>;
  readonly accounts?: Omit<AccountBackoffOptions, 'now'>;
}

const seconds = (ms: number) => Math.ceil(ms / 1000);

export class LoginLimiter {
  readonly sources: SourceThrottle;
  readonly accounts: AccountBackoff;
  readonly #counters = { failures: 0, successes: 0, refusedAccountLocked: 0, trustedPastAccountLock: 0 };

  constructor(options: LoginLimiterOptions = {}) {
    const now = options.now ?? Date.now;
    this.sources = new SourceThrottle({ ...options.sources, now });
    this.accounts = new AccountBackoff({ ...options.accounts, now });
  }

  assess(account: string, address: string): LoginAssessment {
    const source = this.sources.state(address);
    const accountMs = this.accounts.lockedForMs(account);
    if (accountMs > 0) {
      // A clean source the account logged in from before is let through an account lock (see account-backoff.ts).
      if (source.throttled || !this.accounts.isTrusted(account, sourceKeys(address).exact)) {
        this.#counters.refusedAccountLocked++;
        return { verdict: 'refuse', retryAfterSeconds: seconds(accountMs) };
      }
      this.#counters.trustedPastAccountLock++;
    }
    // A source throttled only because the tables are full of locked sources has no lock of its own to wait for.
    return { verdict: 'check', throttled: source.throttled, retryAfterSeconds: source.throttled ? Math.max(1, seconds(source.lockedForMs)) : 0 };
  }

  failure(account: string, address: string): void {
    this.#counters.failures++;
    this.accounts.failure(account);
    this.sources.failure(address);
  }

  success(account: string, address: string): void {
    this.#counters.successes++;
    this.accounts.success(account, sourceKeys(address).exact);
    this.sources.success(address);
  }

  get counters(): Readonly<Record<string, number>> {
    return { ...this.#counters, ...this.sources.counters, ...this.accounts.counters };
  }

  /** Records held now (sources, aggregates, accounts), for status and tests. */
  get tracked(): { readonly sources: number; readonly aggregates: number; readonly accounts: number } {
    return { ...this.sources.tracked, accounts: this.accounts.tracked };
  }
}
