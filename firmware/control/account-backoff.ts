/**
 * Failed logins per account, from every source together (OWASP Authentication Cheat Sheet, "Account
 * Lockout"): past `threshold` failures the account waits `baseMs`, doubling per failure up to `maxMs`.
 * This is the ceiling on guessing that no number of source addresses gets around: with the defaults,
 * about a hundred guesses a day.
 *
 * An account lock is also a way to keep the real administrator out, so the cap is short (15 min) and a
 * source this account logged in from before (kept per account, bounded) is let through while that
 * source itself is clean: an attacker cannot borrow that trust, because his own failures throttle the
 * source, and a throttled source is held to the account lock again.
 */
import { lockMs, type BackoffPolicy } from './backoff.ts';

interface AccountRecord {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export interface AccountBackoffOptions {
  readonly now: () => number;
  readonly policy?: BackoffPolicy;
  /** Failures older than this (with no lock running) are forgotten. */
  readonly forgetAfterMs?: number;
  /** Sources remembered per account as having logged in, and for how long. */
  readonly trustedPerAccount?: number;
  readonly trustMs?: number;
  /** Accounts tracked at most; names come from requests, so this is bounded too. */
  readonly maxAccounts?: number;
}

const DEFAULT_POLICY: BackoffPolicy = { threshold: 10, baseMs: 30_000, maxMs: 15 * 60_000 };

export class AccountBackoff {
  readonly #now: () => number;
  readonly #policy: BackoffPolicy;
  readonly #forgetAfterMs: number;
  readonly #trustedPerAccount: number;
  readonly #trustMs: number;
  readonly #maxAccounts: number;
  readonly #records = new Map<string, AccountRecord>();
  /** account → source key → time of the last successful login from it (oldest first). */
  readonly #trusted = new Map<string, Map<string, number>>();
  readonly counters = { accountLockouts: 0 };

  constructor(options: AccountBackoffOptions) {
    this.#now = options.now;
    this.#policy = options.policy ?? DEFAULT_POLICY;
    this.#forgetAfterMs = options.forgetAfterMs ?? 24 * 3_600_000;
    this.#trustedPerAccount = options.trustedPerAccount ?? 16;
    this.#trustMs = options.trustMs ?? 30 * 24 * 3_600_000;
    this.#maxAccounts = options.maxAccounts ?? 256;
  }

  /** Milliseconds the account is still locked for (0 when not). */
  lockedForMs(account: string): number {
    const r = this.#live(account);
    return r ? Math.max(0, r.lockedUntil - this.#now()) : 0;
  }

  failures(account: string): number {
    return this.#live(account)?.failures ?? 0;
  }

  isTrusted(account: string, sourceKey: string): boolean {
    const at = this.#trusted.get(account)?.get(sourceKey);
    return at !== undefined && this.#now() - at < this.#trustMs;
  }

  failure(account: string): void {
    const now = this.#now();
    const r = this.#live(account) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    r.failures++;
    r.lastFailure = now;
    const ms = lockMs(r.failures, this.#policy);
    if (ms > 0) {
      r.lockedUntil = now + ms;
      this.counters.accountLockouts++;
    }
    this.#records.set(account, r);
    // Only names that exist can lock (the route counts unknown names under one placeholder), so this
    // bound is a safety net: the oldest unlocked record goes first, a locked one never.
    if (this.#records.size > this.#maxAccounts) {
      for (const [name, other] of this.#records) {
        if (other.lockedUntil <= now) {
          this.#records.delete(name);
          break;
        }
      }
    }
  }

  success(account: string, sourceKey: string): void {
    this.#records.delete(account);
    const trusted = this.#trusted.get(account) ?? new Map<string, number>();
    trusted.delete(sourceKey);
    trusted.set(sourceKey, this.#now());
    while (trusted.size > this.#trustedPerAccount) trusted.delete(trusted.keys().next().value as string);
    this.#trusted.set(account, trusted);
  }

  get tracked(): number {
    return this.#records.size;
  }

  #live(account: string): AccountRecord | undefined {
    const r = this.#records.get(account);
    if (r && r.lockedUntil <= this.#now() && this.#now() - r.lastFailure > this.#forgetAfterMs) {
      this.#records.delete(account);
      return undefined;
    }
    return r;
  }
}
