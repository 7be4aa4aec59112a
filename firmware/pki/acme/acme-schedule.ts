/**
 * When to ask the ACME CA for a certificate (issue 16), sans-I/O: time comes in as an argument.
 * A certificate is renewed 30 days before it expires (Let's Encrypt's own advice for 90-day
 * certificates, and the window in which the expiry watch starts warning). A failed attempt is
 * retried with a doubling delay, capped so a CA back from an outage is tried again within hours.
 */

export const RENEW_BEFORE_MS = 30 * 86_400_000;
export const RETRY_FIRST_MS = 5 * 60_000;
export const RETRY_MAX_MS = 6 * 3_600_000;
/** Never sleep longer than this at once: setTimeout's ceiling is 24.8 days, and clocks get set. */
export const MAX_SLEEP_MS = 6 * 3_600_000;

/** When a certificate expiring at `notAfter` is due for renewal. */
export const renewalAt = (notAfter: number): number => notAfter - RENEW_BEFORE_MS;

/** The delay before retry number `failures` (1 after the first failure). */
export const retryDelay = (failures: number): number => Math.min(RETRY_FIRST_MS * 2 ** Math.max(0, Math.min(failures - 1, 20)), RETRY_MAX_MS);

export interface AcmeFailure {
  /** Failed attempts in a row, this one included. */
  readonly failures: number;
  readonly retryAt: number;
  /** When the certificate in use expires, if there is one. */
  readonly notAfter: number | undefined;
}

export class AcmeSchedule {
  #notAfter: number | undefined;
  #failures = 0;
  #nextAttempt: number;

  /** `notAfter` of the certificate held now, or undefined when there is none (due at once). */
  constructor(notAfter: number | undefined, now: number) {
    this.#notAfter = notAfter;
    this.#nextAttempt = notAfter === undefined ? now : Math.max(now, renewalAt(notAfter));
  }

  get notAfter(): number | undefined {
    return this.#notAfter;
  }

  get failures(): number {
    return this.#failures;
  }

  get nextAttemptAt(): number {
    return this.#nextAttempt;
  }

  due(now: number): boolean {
    return now >= this.#nextAttempt;
  }

  /** How long to sleep before looking again. */
  sleepMs(now: number): number {
    return Math.min(Math.max(this.#nextAttempt - now, 0), MAX_SLEEP_MS);
  }

  /** A certificate was issued: the next attempt is 30 days before it expires. */
  succeeded(notAfter: number, now: number): void {
    this.#notAfter = notAfter;
    this.#failures = 0;
    this.#nextAttempt = Math.max(now, renewalAt(notAfter));
  }

  /** An attempt failed: when to retry, for the event and the log. */
  failed(now: number): AcmeFailure {
    this.#failures++;
    this.#nextAttempt = now + retryDelay(this.#failures);
    return { failures: this.#failures, retryAt: this.#nextAttempt, notAfter: this.#notAfter };
  }
}
