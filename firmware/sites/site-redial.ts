/**
 * When a site that dials is tried again after it went down or failed: 2 s doubling to 2 min, reset
 * once it comes up. Timers and the clock come from the shell that owns the dial; the times are kept
 * so the API can show the next retry (issue 17).
 */
export const REDIAL_MIN_MS = 2000;
export const REDIAL_MAX_MS = 120_000;

export const redialDelay = (failures: number): number => Math.min(REDIAL_MAX_MS, REDIAL_MIN_MS * 2 ** Math.max(0, failures));

export class SiteRedial {
  readonly #timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  readonly #failures = new Map<string, number>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Schedules `dial` after the site's next backoff; a pending one is replaced. Returns when. */
  schedule(site: string, dial: () => void): number {
    this.cancel(site);
    const failures = this.#failures.get(site) ?? 0;
    this.#failures.set(site, failures + 1);
    const wait = redialDelay(failures);
    const at = this.#clock() + wait;
    const timer = setTimeout(() => {
      this.#timers.delete(site);
      dial();
    }, wait);
    timer.unref();
    this.#timers.set(site, { timer, at });
    return at;
  }

  /** The site is up: its backoff starts over. */
  up(site: string): void {
    this.cancel(site);
    this.#failures.delete(site);
  }

  cancel(site: string): void {
    const pending = this.#timers.get(site);
    if (pending) clearTimeout(pending.timer);
    this.#timers.delete(site);
  }

  /** Epoch milliseconds of the next try, if one is scheduled. */
  nextAt(site: string): number | undefined {
    return this.#timers.get(site)?.at;
  }

  stopAll(): void {
    for (const site of [...this.#timers.keys()]) this.cancel(site);
    this.#failures.clear();
  }
}
