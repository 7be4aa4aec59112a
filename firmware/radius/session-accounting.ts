/**
 * Accounting for PPP sessions (RFC 2866): Start when a session has its address, Interim-Updates
 * while it lasts (RFC 2869 §2.1: the server's Acct-Interim-Interval, else `radius.interimSeconds`),
 * Stop when it ends, with octets, packets, session time and the terminate cause; every record
 * echoes the Access-Accept's Class (RFC 2865 §5.25). Acct-Session-Id is this run's random prefix
 * and the session's number, so ids never repeat across restarts (RFC 2866 §5.5). With a spool, a
 * record no server acknowledged waits there and is sent again in order (accounting-spool.ts);
 * without one it is logged and dropped.
 */
import type { OpenSessionLedger } from './open-sessions.ts';
import type { Logger } from '../log/logger.ts';
import { accountingAttributes, type AccountingRecord, type NasIdentity, type TerminateCause } from './accounting.ts';
import type { RadiusAttribute } from './packet.ts';
import type { RadiusResult } from './client-engine.ts';
import type { AccountingSpool } from './accounting-spool.ts';
import { interimSecondsOf, MIN_INTERIM_SECONDS } from './session-authorization.ts';

export interface AccountedSession {
  readonly id: number;
  readonly user: string | undefined;
  readonly ipv4: string | undefined;
  /** The session's /64 (issue 20) and its address there: Framed-IPv6-Prefix and Framed-Interface-Id in every record. */
  readonly ipv6Prefix?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly peer: string;
  /** ms since the epoch. */
  readonly since: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly packetsIn?: number;
  readonly packetsOut?: number;
  /** The Access-Accept's Class attributes, echoed in every record. */
  readonly class?: readonly Uint8Array[];
  /** The server's Acct-Interim-Interval for this session. */
  readonly interimSeconds?: number;
}

export interface RadiusAccount {
  account(attributes: readonly RadiusAttribute[]): Promise<RadiusResult>;
}

/** The RFC 2866 §5.10 cause for why a session ended, from the words the PPP shell uses. */
export function terminateCauseOf(reason: string): TerminateCause {
  // The last three: an IKE Delete, a PPTP Call-Clear-Request, an L2TP CDN or StopCCN from the client.
  if (/client closed|hung up|terminate-request|peer closed|deleted by the peer|client cleared the call|peer sent (CDN|StopCCN)/i.test(reason)) return 'UserRequest';
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
  readonly #interimSeconds: number | undefined;
  readonly #interimMinimumSeconds: number;
  readonly #spool: AccountingSpool | undefined;
  readonly #calledStationId: string | undefined;
  readonly #openSessions: OpenSessionLedger | undefined;
  /** Interim-Update timers by session id. */
  readonly #interims = new Map<number, NodeJS.Timeout>();

  constructor(options: {
    client: RadiusAccount; nas: NasIdentity; runId: string; log?: Logger; now?: () => number;
    /** `radius.interimSeconds`: Interim-Updates when the server names no interval. */
    interimSeconds?: number;
    /** The floor on the server's interval (RFC 2869 §5.16: 60 s); lower only in tests. */
    interimMinimumSeconds?: number;
    /** Where unacknowledged records wait (the client is then the spool's). */
    spool?: AccountingSpool;
    /** The listener's address, as Called-Station-Id in every session's records. */
    calledStationId?: string;
    /** Where each open session's would-be NAS-Reboot Stop is kept, for the start after a crash. */
    openSessions?: OpenSessionLedger;
  }) {
    this.#spool = options.spool;
    this.#calledStationId = options.calledStationId;
    this.#openSessions = options.openSessions;
    this.#client = options.client;
    this.#nas = options.nas;
    this.#prefix = options.runId;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#interimSeconds = options.interimSeconds;
    this.#interimMinimumSeconds = options.interimMinimumSeconds ?? MIN_INTERIM_SECONDS;
  }

  sessionId(session: AccountedSession): string {
    return `${this.#prefix}-${session.id}`;
  }

  /** `live` reads the session's counters now: with it, Interim-Updates run until `stop`. */
  start(session: AccountedSession, live?: () => AccountedSession): Promise<boolean> {
    if (live && !this.#interims.has(session.id)) this.#schedule(session.id, session.interimSeconds, live);
    this.#keepOpen(session);
    return this.#send({ status: 'Start', ...this.#common(session) });
  }

  /**
   * A CoA's Acct-Interim-Interval (RFC 5176 §3.2, RFC 2869 §5.16: not below the floor): Interim-Updates
   * every that many seconds from now on, replacing the interval the session had (or starting them).
   */
  changeInterim(session: AccountedSession, serverSeconds: number, live: () => AccountedSession): void {
    clearInterval(this.#interims.get(session.id));
    this.#interims.delete(session.id);
    this.#schedule(session.id, serverSeconds, live);
  }

  #schedule(id: number, serverSeconds: number | undefined, live: () => AccountedSession): void {
    const seconds = interimSecondsOf(serverSeconds, this.#interimSeconds, this.#interimMinimumSeconds);
    if (seconds === undefined) return;
    const timer = setInterval(() => void this.interim(live()), seconds * 1000);
    timer.unref();
    this.#interims.set(id, timer);
  }

  interim(session: AccountedSession): Promise<boolean> {
    this.#keepOpen(session);
    return this.#send({ status: 'InterimUpdate', ...this.#common(session), ...this.#usage(session) });
  }

  stop(session: AccountedSession, reason: string): Promise<boolean> {
    clearInterval(this.#interims.get(session.id));
    this.#interims.delete(session.id);
    this.#openSessions?.remove(this.sessionId(session));
    return this.#send({ status: 'Stop', ...this.#common(session), ...this.#usage(session), terminateCause: terminateCauseOf(reason) });
  }

  /** The Stop this session gets if the gateway dies before it ends: NAS-Reboot, as of now. */
  #keepOpen(session: AccountedSession): void {
    this.#openSessions?.put(this.sessionId(session), accountingAttributes({ status: 'Stop', ...this.#common(session), ...this.#usage(session), terminateCause: 'NasReboot' }));
  }

  /** Sessions with Interim-Updates running. */
  get interimSessions(): number {
    return this.#interims.size;
  }

  #usage(session: AccountedSession): Pick<AccountingRecord, 'sessionTimeSeconds' | 'inputOctets' | 'outputOctets' | 'inputPackets' | 'outputPackets'> {
    return {
      sessionTimeSeconds: Math.max(0, Math.round((this.#now() - session.since) / 1000)),
      // From the NAS's side: input is what the user sent (RFC 2866 §5.3, §5.4).
      inputOctets: BigInt(session.bytesIn),
      outputOctets: BigInt(session.bytesOut),
      ...(session.packetsIn !== undefined ? { inputPackets: session.packetsIn } : {}),
      ...(session.packetsOut !== undefined ? { outputPackets: session.packetsOut } : {}),
    };
  }

  #common(session: AccountedSession): Omit<AccountingRecord, 'status'> {
    return {
      nas: this.#nas,
      sessionId: this.sessionId(session),
      ...(session.user !== undefined ? { userName: session.user } : {}),
      ...(session.ipv4 ? { framedIpAddress: session.ipv4 } : {}),
      ...(session.ipv6Prefix ? { framedIpv6Prefix: session.ipv6Prefix, ...(session.ipv6 ? { framedIpv6Address: session.ipv6 } : {}) } : {}),
      callingStationId: session.peer,
      ...(this.#calledStationId ? { calledStationId: this.#calledStationId } : {}),
      ...(session.class?.length ? { class: session.class } : {}),
      eventTimestamp: Math.floor(this.#now() / 1000),
    };
  }

  async #send(record: AccountingRecord): Promise<boolean> {
    if (this.#spool) return this.#spool.send(accountingAttributes(record));
    const result = await this.#client.account(accountingAttributes(record));
    const ok = result.outcome === 'accounting-response';
    if (!ok) this.#log?.warn('RADIUS accounting record not acknowledged: dropped (no spool yet)', { status: record.status, session: record.sessionId, outcome: result.outcome });
    return ok;
  }
}
