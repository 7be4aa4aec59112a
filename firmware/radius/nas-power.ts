/**
 * Accounting-On and Accounting-Off (RFC 2866 §5.1, issue 21): a NAS says once when it starts that
 * none of its earlier sessions are open any more (the server closes what a crash left open), and
 * once when it stops cleanly. They are the gateway's, not a listener's: the first listener that
 * opens RADIUS in this process sends the On through its spool (so it follows, in order, whatever
 * the last run left there), and the service sends the Off through any open listener's spool when
 * it stops. A listener restarted by a configuration change sends neither: the other listeners'
 * sessions are still up.
 */
import { accountingAttributes, type NasIdentity } from './accounting.ts';
import type { RadiusAttribute } from './packet.ts';

/** What sends a listener's records (its AccountingSpool). */
export interface AccountingSender {
  send(attributes: readonly RadiusAttribute[]): Promise<boolean>;
}

export class NasPower {
  readonly #now: () => number;
  /** NAS identities announced on in this process. */
  readonly #on = new Set<string>();
  /** Open listeners' senders, by NAS identity. */
  readonly #open = new Map<string, { nas: NasIdentity; senders: Set<AccountingSender> }>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A listener opened RADIUS: Accounting-On through it if this NAS has not said so yet. */
  opened(nas: NasIdentity, sender: AccountingSender): void {
    const entry = this.#open.get(nas.identifier) ?? { nas, senders: new Set<AccountingSender>() };
    entry.senders.add(sender);
    this.#open.set(nas.identifier, entry);
    if (this.#on.has(nas.identifier)) return;
    this.#on.add(nas.identifier);
    void sender.send(this.#record('AccountingOn', nas));
  }

  closed(nas: NasIdentity, sender: AccountingSender): void {
    this.#open.get(nas.identifier)?.senders.delete(sender);
  }

  /**
   * The gateway stops: Accounting-Off for each NAS through one of its open listeners, waited for up
   * to `waitMs` (a record not acknowledged by then stays in that spool's file, sent at the next start
   * before that run's Accounting-On).
   */
  async stopping(waitMs = 1500): Promise<void> {
    const sends = [...this.#open.values()].flatMap(({ nas, senders }) => {
      const sender = [...senders][0];
      return sender ? [sender.send(this.#record('AccountingOff', nas))] : [];
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(sends), new Promise((done) => (timer = setTimeout(done, waitMs)))]);
    clearTimeout(timer);
  }

  #record(status: 'AccountingOn' | 'AccountingOff', nas: NasIdentity): RadiusAttribute[] {
    return accountingAttributes({ status, nas, eventTimestamp: Math.floor(this.#now() / 1000) });
  }
}

/** The process's: one gateway, one NAS power state. */
export const nasPower = new NasPower();
