/**
 * Accounting for PPP sessions (RFC 2866): Start when a session has its address, Stop when it ends,
 * with octets, session time and the terminate cause. Acct-Session-Id is this run's random prefix
 * and the session's number, so ids never repeat across restarts (RFC 2866 §5.5). A record no server
 * acknowledged is logged and dropped: spooling to disk is still to come (issue 21).
 */
import type { Logger } from '../log/logger.ts';
import { accountingAttributes, type AccountingRecord, type NasIdentity, type TerminateCause } from './accounting.ts';
import type { RadiusAttribute } from './packet.ts';
import type { RadiusResult } from './client-engine.ts';

export interface AccountedSession {
  readonly id: number;
  readonly user: string | undefined;
  readonly ipv4: string | undefined;
  readonly peer: string;
  /** ms since the epoch. */
  readonly since: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface RadiusAccount {
  account(attributes: readonly RadiusAttribute[]): Promise<RadiusResult>;
}

/** The RFC 2866 §5.10 cause for why a session ended, from the words the PPP shell uses. */
export function terminateCauseOf(reason: string): TerminateCause {
  if (/client closed|hung up|terminate-request|peer closed|deleted by the peer/i.test(reason)) return 'UserRequest'; // the last: an IKE Delete
  if (/administrator|disconnected by/i.test(reason)) return 'AdminReset';
  if (/idle/i.test(reason)) return 'IdleTimeout';
  if (/session timeout/i.test(reason)) return 'SessionTimeout';
  if (/stopped|shutting down|restart/i.test(reason)) return 'AdminReboot';
  if (/lost|echo|keepalive|dead|timed out|reset/i.test(reason)) return 'LostCarrier';
  return 'NasRequest';
}

export class SessionAccounting {
  readonly #client: RadiusAccount;
  readonly #nas: NasIdentity;
  readonly #prefix: string;
  readonly #log: Logger | undefined;
  readonly #now: () => number;

  constructor(options: { client: RadiusAccount; nas: NasIdentity; runId: string; log?: Logger; now?: () => number }) {
    this.#client = options.client;
    this.#nas = options.nas;
    this.#prefix = options.runId;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  sessionId(session: AccountedSession): string {
    return `${this.#prefix}-${session.id}`;
  }

  start(session: AccountedSession): Promise<boolean> {
    return this.#send({ status: 'Start', ...this.#common(session) });
  }

  stop(session: AccountedSession, reason: string): Promise<boolean> {
    return this.#send({
      status: 'Stop',
      ...this.#common(session),
      sessionTimeSeconds: Math.max(0, Math.round((this.#now() - session.since) / 1000)),
      // From the NAS's side: input is what the user sent (RFC 2866 §5.3, §5.4).
      inputOctets: BigInt(session.bytesIn),
      outputOctets: BigInt(session.bytesOut),
      terminateCause: terminateCauseOf(reason),
    });
  }

  #common(session: AccountedSession): Omit<AccountingRecord, 'status'> {
    return {
      nas: this.#nas,
      sessionId: this.sessionId(session),
      ...(session.user !== undefined ? { userName: session.user } : {}),
      ...(session.ipv4 ? { framedIpAddress: session.ipv4 } : {}),
      callingStationId: session.peer,
      eventTimestamp: Math.floor(this.#now() / 1000),
    };
  }

  async #send(record: AccountingRecord): Promise<boolean> {
    const result = await this.#client.account(accountingAttributes(record));
    const ok = result.outcome === 'accounting-response';
    if (!ok) this.#log?.warn('RADIUS accounting record not acknowledged: dropped (no spool yet)', { status: record.status, session: record.sessionId, outcome: result.outcome });
    return ok;
  }
}
