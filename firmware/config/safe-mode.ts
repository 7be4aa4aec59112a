/**
 * Safe mode (issue 17), like MikroTik's Safe Mode and Junos' `commit confirmed`: a change applied
 * with "confirm within N seconds" is pending until the technician confirms it; if the time runs out
 * (the page lost with the management address, say) the configuration goes back to the revision
 * before the change. The pending change is written down, so a service that restarts while one is
 * pending goes back at start (`pendingAtStart`). Clock, timer and storage are injected: the unit
 * test runs it on a fake clock.
 */

export const CONFIRM_MIN_SECONDS = 5;
export const CONFIRM_MAX_SECONDS = 3600;

export interface PendingChange {
  /** The revision the change made. */
  readonly revision: number;
  /** The revision restored if it is not confirmed. */
  readonly previousRevision: number;
  /** Epoch milliseconds. */
  readonly deadline: number;
  readonly startedAt: number;
  /** The time given, in seconds. */
  readonly seconds: number;
  readonly author: string;
  readonly comment: string;
}

export interface SafeModeOutcome {
  readonly kind: 'confirmed' | 'reverted' | 'revert-failed';
  readonly at: number;
  readonly change: PendingChange;
  /** The revision the revert made, or why it failed. */
  readonly revision?: number;
  readonly error?: string;
}

export interface SafeModeDeps {
  readonly clock: () => number;
  readonly setTimer: (ms: number, fn: () => void) => { cancel(): void };
  /** Keeps the pending change across a restart (undefined: none). */
  readonly persist: (pending: PendingChange | undefined) => void;
  /** Makes `previousRevision` current again; resolves with the new revision. */
  readonly revert: (change: PendingChange, why: string) => Promise<number>;
  readonly onOutcome?: (outcome: SafeModeOutcome) => void;
}

/** "confirmWithin" from a request: whole seconds within the bounds, or a reason. */
export function checkConfirmWithin(value: unknown): { ok: true; seconds: number } | { ok: false; why: string } {
  const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds)) return { ok: false, why: 'must be a whole number of seconds' };
  if (seconds < CONFIRM_MIN_SECONDS || seconds > CONFIRM_MAX_SECONDS) return { ok: false, why: `must be ${CONFIRM_MIN_SECONDS} to ${CONFIRM_MAX_SECONDS} seconds` };
  return { ok: true, seconds };
}

export class SafeMode {
  readonly #deps: SafeModeDeps;
  #pending: PendingChange | undefined;
  #timer: { cancel(): void } | undefined;
  #last: SafeModeOutcome | undefined;

  constructor(deps: SafeModeDeps) {
    this.#deps = deps;
  }

  get pending(): PendingChange | undefined {
    return this.#pending;
  }

  /** The last confirmation or revert, for the banner ("reverted to revision 7 at …"). */
  get last(): SafeModeOutcome | undefined {
    return this.#last;
  }

  /**
   * A change applied in safe mode. A change made while another is pending keeps the first one's
   * revision to go back to (everything since it is undone, as MikroTik's Safe Mode does) and the
   * new deadline.
   */
  begin(change: { revision: number; previousRevision: number; seconds: number; author: string; comment: string }): PendingChange {
    const now = this.#deps.clock();
    const pending: PendingChange = {
      revision: change.revision, previousRevision: this.#pending?.previousRevision ?? change.previousRevision,
      deadline: now + change.seconds * 1000, startedAt: this.#pending?.startedAt ?? now, seconds: change.seconds, author: change.author, comment: change.comment,
    };
    this.#arm(pending);
    return pending;
  }

  /** The technician kept the change. False when nothing was pending. */
  confirm(): boolean {
    const change = this.#pending;
    if (!change) return false;
    this.#disarm();
    this.#finish({ kind: 'confirmed', at: this.#deps.clock(), change });
    return true;
  }

  /** Goes back now (the time ran out, or the technician asked). */
  async revert(why: string): Promise<SafeModeOutcome | undefined> {
    const change = this.#pending;
    if (!change) return undefined;
    this.#disarm();
    try {
      const revision = await this.#deps.revert(change, why);
      return this.#finish({ kind: 'reverted', at: this.#deps.clock(), change, revision });
    } catch (error) {
      return this.#finish({ kind: 'revert-failed', at: this.#deps.clock(), change, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Stops the timer (service stopping); the written-down change stays for the next start. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(pending: PendingChange): void {
    this.#timer?.cancel();
    this.#pending = pending;
    this.#deps.persist(pending);
    this.#timer = this.#deps.setTimer(Math.max(0, pending.deadline - this.#deps.clock()), () => {
      this.#timer = undefined;
      void this.revert(`not confirmed within ${pending.seconds} s`);
    });
  }

  #disarm(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pending = undefined;
    this.#deps.persist(undefined);
  }

  #finish(outcome: SafeModeOutcome): SafeModeOutcome {
    this.#last = outcome;
    this.#deps.onOutcome?.(outcome);
    return outcome;
  }
}
