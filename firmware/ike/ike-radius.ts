/*
 * IKEv2 remote access through RADIUS (issue 21), the shell side: `listeners.ikev2.userAuth` picks
 * who checks EAP-MSCHAPv2 (the same verifier as PPP's MS-CHAPv2: RADIUS answers with
 * MS-CHAP2-Success, checked, and MS-MPPE-Send/Recv-Key, which make the MSK that signs the AUTH),
 * and accounting follows the remote-access IKE SAs: Start when one is up (Framed-IP-Address = its
 * virtual address), Stop when it goes down, with the octets its child SAs carried.
 */
import { openListenerRadius, type ListenerRadius } from '../auth/listener-radius.ts';
import type { PosternConfig } from '../config/types.ts';
import type { UserLookup } from '../crypto/user-credential.ts';
import type { Logger } from '../log/logger.ts';
import type { SessionAccounting } from '../radius/session-accounting.ts';
import type { IkeAction } from './engine/types.ts';

export interface IkeRadius {
  /** The listener's RADIUS client and its verifier per peer (auth/listener-radius.ts). */
  readonly listener: ListenerRadius;
  readonly accounting: IkeAccounting;
}

/** Undefined when the listener checks the local users only (no client opened). */
/** `calledStationId`: the WAN address IKE answers on (Called-Station-Id). */
export async function openIkeRadius(config: PosternConfig, users: UserLookup, bytes: ChildBytes, log: Logger, stateDir?: string, calledStationId?: string): Promise<IkeRadius | undefined> {
  const listener = await openListenerRadius(config, 'ikev2', users, log, stateDir, calledStationId);
  return listener && { listener, accounting: new IkeAccounting(listener.accounting, bytes) };
}

/** Octets (and packets, where the data plane counts them) a child SA carried so far, by its inbound SPI. */
export type ChildBytes = (inboundSpi: number) => ChildCounts | undefined;
export interface ChildCounts { readonly in: number; readonly out: number; readonly packetsIn?: number; readonly packetsOut?: number }

interface Session {
  readonly id: number;
  readonly user: string;
  readonly ipv4: string | undefined;
  readonly peer: string;
  readonly since: number;
  /** Octets of child SAs already gone (rekeyed or deleted). */
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  readonly children: Set<number>;
  /** From the Access-Accept (EAP through RADIUS): echoed in every record; the server's interim interval. */
  readonly class?: readonly Uint8Array[];
  readonly interimSeconds?: number;
}

/**
 * Remote-access IKE SAs as accounting sessions. It must see each action before the data plane
 * removes a deleted child, whose counters it reads then.
 */
export class IkeAccounting {
  readonly #accounting: SessionAccounting;
  readonly #bytes: ChildBytes;
  readonly #sessions = new Map<bigint, Session>();
  /** IKE SPIs replaced by a rekey, to the SPI the session lives under now. */
  readonly #renamed = new Map<bigint, bigint>();
  readonly #inFlight = new Set<Promise<boolean>>();
  /** Why a session the gateway ends is ending (a DAS's Disconnect, a CoA's Session-Timeout), for its Stop. */
  readonly #endingWhy = new Map<bigint, string>();
  #next = 1;

  constructor(accounting: SessionAccounting, bytes: ChildBytes) {
    this.#accounting = accounting;
    this.#bytes = bytes;
  }

  observe(action: IkeAction, now = Date.now()): void {
    if (action.type === 'ike-up' && action.connection === 'remote-access' && !this.#sessions.has(action.spi)) {
      const a = action.authorization;
      const session: Session = {
        id: this.#next++, user: action.remoteId, ipv4: action.virtualIp?.ipv4, peer: action.remote.address, since: now, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, children: new Set(),
        ...(a?.class.length ? { class: a.class } : {}), ...(a?.interimSeconds !== undefined ? { interimSeconds: a.interimSeconds } : {}),
      };
      this.#sessions.set(action.spi, session);
      // Interim-Updates (radius.interimSeconds) read the children's counters at each tick.
      this.#track(this.#accounting.start(this.#info(session), () => this.#info(session)));
    } else if (action.type === 'install-child' || action.type === 'rekey-child') {
      this.#session(action.child.ikeSpi)?.children.add(action.child.inbound.spi);
    } else if (action.type === 'delete-child') {
      const session = this.#session(action.child.ikeSpi);
      if (session?.children.delete(action.child.inbound.spi)) {
        const b = this.#bytes(action.child.inbound.spi);
        session.bytesIn += b?.in ?? 0;
        session.bytesOut += b?.out ?? 0;
        session.packetsIn += b?.packetsIn ?? 0;
        session.packetsOut += b?.packetsOut ?? 0;
      }
    } else if (action.type === 'ike-rekeyed') {
      const session = this.#sessions.get(action.oldSpi);
      if (!session) return;
      this.#sessions.delete(action.oldSpi);
      this.#sessions.set(action.spi, session);
      this.#renamed.set(action.oldSpi, action.spi);
    } else if (action.type === 'ike-down') {
      const session = this.#sessions.get(action.spi);
      if (!session) return;
      this.#sessions.delete(action.spi);
      for (const [old, current] of this.#renamed) if (current === action.spi) this.#renamed.delete(old);
      const why = this.#endingWhy.get(action.spi);
      this.#endingWhy.delete(action.spi);
      this.#track(this.#accounting.stop(this.#info(session), why ?? action.reason));
    }
  }

  /** The Acct-Session-Id of the session under that IKE SA (its current SPI), if accounted. */
  acctSessionIdOf(spi: bigint): string | undefined {
    const session = this.#session(spi);
    return session && this.#accounting.sessionId(session);
  }

  /** The gateway is ending it: the Stop record says why (the IKE Delete itself says nothing of it). */
  ending(spi: bigint, why: string): void {
    if (this.#session(spi)) this.#endingWhy.set(this.#renamed.get(spi) ?? spi, why);
  }

  /** Ends every session still open (IKE stopping) and waits for the records to be answered or given up. */
  async close(reason: string): Promise<void> {
    for (const spi of [...this.#sessions.keys()]) this.observe({ type: 'ike-down', spi, connection: 'remote-access', reason });
    await Promise.allSettled([...this.#inFlight]);
  }

  #session(ikeSpi: bigint): Session | undefined {
    return this.#sessions.get(this.#renamed.get(ikeSpi) ?? ikeSpi);
  }

  #info(s: Session) {
    let { bytesIn, bytesOut, packetsIn, packetsOut } = s;
    for (const spi of s.children) {
      const b = this.#bytes(spi);
      bytesIn += b?.in ?? 0;
      bytesOut += b?.out ?? 0;
      packetsIn += b?.packetsIn ?? 0;
      packetsOut += b?.packetsOut ?? 0;
    }
    return { id: s.id, user: s.user, ipv4: s.ipv4, peer: s.peer, since: s.since, bytesIn, bytesOut, packetsIn, packetsOut, ...(s.class ? { class: s.class } : {}), ...(s.interimSeconds !== undefined ? { interimSeconds: s.interimSeconds } : {}) };
  }

  #track(p: Promise<boolean>): void {
    this.#inFlight.add(p);
    const done = () => void this.#inFlight.delete(p);
    p.then(done, done);
  }
}
