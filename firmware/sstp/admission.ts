/*
 * Who may hold a connection to the SSTP listener (sans-I/O: time comes in, decisions go out).
 *
 * A connection is unfinished from TCP accept until its SSTP call is established (TLS, the HTTP request,
 * Call Connect, PPP authentication and the crypto binding all done, [MS-SSTP] §3.3.5.2.4); then it is
 * a call. Unfinished connections cost the attacker nothing but a TCP handshake, so they get their own
 * budget, apart from the calls' cap, and these rules (issue 15, after nginx's limit_conn and
 * strongSwan's half-open IKE_SA limits):
 * - one IPv4 address, or one IPv6 /64 (what one subscriber is given, RFC 6177), holds at most
 *   `perSource` unfinished connections; more are refused;
 * - when the budget is full, the oldest unfinished connection makes room for the new one, so a flood
 *   cannot keep a real client out: it only shortens the time every newcomer has;
 * - once the budget is over half full, unfinished connections get `pressureTimeoutMs` instead of
 *   `handshakeTimeoutMs` (a real client needs well under a second on any link worth serving);
 * - while a connection's credentials are with the authentication server (`awaiting`), its clock
 *   stops and it is neither timed out nor evicted: that time is the server's (a RADIUS failover
 *   takes 14 s). When the verdict is in (`resumed`) the client gets a fresh timeout for the rest.
 *   The SSTP session's own negotiation timer (60 s) still bounds the wait.
 */

import { sourceKey } from '../util/source-key.ts';

export interface SstpLimits {
  /** Unfinished connections from one IPv4 address or one IPv6 /64. */
  readonly perSource: number;
  /** Unfinished connections in all (never counted against calls). */
  readonly handshakes: number;
  /** Established calls. */
  readonly calls: number;
  /** How long a connection may take to become a call. */
  readonly handshakeTimeoutMs: number;
  /** The same once more than half of the handshake budget is in use. */
  readonly pressureTimeoutMs: number;
}

export const defaultSstpLimits: SstpLimits = { perSource: 32, handshakes: 1024, calls: 4096, handshakeTimeoutMs: 15_000, pressureTimeoutMs: 3_000 };

export type Admission =
  /** Go ahead with `id`; first drop the unfinished connection `evict` when it is given. */
  | { readonly kind: 'accept'; readonly id: number; readonly evict?: number }
  | { readonly kind: 'refuse'; readonly reason: 'per-source' | 'calls-full' };

export interface AdmissionCounters {
  admitted: number;
  established: number;
  refusedPerSource: number;
  refusedCallsFull: number;
  evictedOldest: number;
  timedOut: number;
  /** Of `timedOut`, those cut short because the budget was over half full. */
  timedOutUnderPressure: number;
  /** Times the budget went over half full. */
  pressureEpisodes: number;
}

interface Unfinished {
  readonly source: string;
  readonly since: number;
}

/** Moved to util (issue 24: IKE's rate limits group IPv6 peers by /64 too); kept here for its callers. */
export { sourceKey };

export class SstpAdmission {
  readonly limits: SstpLimits;
  readonly counters: AdmissionCounters = {
    admitted: 0, established: 0, refusedPerSource: 0, refusedCallsFull: 0, evictedOldest: 0, timedOut: 0, timedOutUnderPressure: 0, pressureEpisodes: 0,
  };
  /** In arrival order, so the first entry is always the oldest (Map keeps insertion order). */
  readonly #unfinished = new Map<number, Unfinished>();
  /** Unfinished, but waiting for the authentication server: out of the timeout's reach. */
  readonly #awaiting = new Map<number, Unfinished>();
  readonly #perSource = new Map<string, number>();
  readonly #calls = new Set<number>();
  #nextId = 1;
  #pressure = false;

  constructor(limits: Partial<SstpLimits> = {}) {
    this.limits = { ...defaultSstpLimits, ...limits };
  }

  get handshakes(): number {
    return this.#unfinished.size + this.#awaiting.size;
  }

  get calls(): number {
    return this.#calls.size;
  }

  get underPressure(): boolean {
    return this.#pressure;
  }

  /** A TCP connection from `address` was accepted. */
  admit(address: string, now: number): Admission {
    const source = sourceKey(address);
    if ((this.#perSource.get(source) ?? 0) >= this.limits.perSource) {
      this.counters.refusedPerSource++;
      return { kind: 'refuse', reason: 'per-source' };
    }
    // A handshake that could not become a call is not worth the TLS work.
    if (this.#calls.size >= this.limits.calls) {
      this.counters.refusedCallsFull++;
      return { kind: 'refuse', reason: 'calls-full' };
    }
    let evict: number | undefined;
    if (this.handshakes >= this.limits.handshakes) {
      evict = this.#oldest();
      if (evict !== undefined) {
        this.#forget(evict);
        this.counters.evictedOldest++;
      }
    }
    const id = this.#nextId++;
    this.#unfinished.set(id, { source, since: now });
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    this.counters.admitted++;
    this.#updatePressure();
    return evict === undefined ? { kind: 'accept', id } : { kind: 'accept', id, evict };
  }

  /**
   * The connection's call is established: it leaves the handshake budget. False when the calls' cap
   * is reached meanwhile (or the connection was already dropped): the shell ends it.
   */
  promoted(id: number): boolean {
    if (!this.#unfinished.has(id) && !this.#awaiting.has(id)) return false;
    this.#forget(id);
    this.#updatePressure();
    if (this.#calls.size >= this.limits.calls) {
      this.counters.refusedCallsFull++;
      return false;
    }
    this.#calls.add(id);
    this.counters.established++;
    return true;
  }

  /** The connection's credentials went to the authentication server: its clock stops. */
  awaiting(id: number): void {
    const entry = this.#unfinished.get(id);
    if (!entry) return;
    this.#unfinished.delete(id);
    this.#awaiting.set(id, entry);
  }

  /** The server answered: the client has a fresh timeout from `now` (last in line, so the oldest stays first). */
  resumed(id: number, now: number): void {
    const entry = this.#awaiting.get(id);
    if (!entry) return;
    this.#awaiting.delete(id);
    this.#unfinished.set(id, { source: entry.source, since: now });
  }

  /** The connection is gone, whatever it was (safe to repeat, and for ids already dropped). */
  closed(id: number): void {
    this.#forget(id);
    this.#calls.delete(id);
    this.#updatePressure();
  }

  /** The timeout that applies to unfinished connections now. */
  timeoutMs(): number {
    return this.#pressure ? this.limits.pressureTimeoutMs : this.limits.handshakeTimeoutMs;
  }

  /** When `expired` has something to say next; undefined while nothing is unfinished. */
  nextTimeout(): number | undefined {
    const oldest = this.#oldest();
    return oldest === undefined ? undefined : this.#unfinished.get(oldest)!.since + this.timeoutMs();
  }

  /**
   * The unfinished connections whose time is up, oldest first; the shell drops them. The timeout is
   * taken afresh for each, so dropping stops at the normal timeout once the pressure is off.
   */
  expired(now: number): number[] {
    const out: number[] = [];
    for (;;) {
      const oldest = this.#oldest();
      if (oldest === undefined) break;
      const short = this.#pressure;
      if (this.#unfinished.get(oldest)!.since + this.timeoutMs() > now) break;
      this.#forget(oldest);
      this.#updatePressure();
      this.counters.timedOut++;
      if (short) this.counters.timedOutUnderPressure++;
      out.push(oldest);
    }
    return out;
  }

  #oldest(): number | undefined {
    for (const id of this.#unfinished.keys()) return id;
    return undefined;
  }

  #forget(id: number): void {
    const entry = this.#unfinished.get(id) ?? this.#awaiting.get(id);
    if (!entry) return;
    this.#unfinished.delete(id);
    this.#awaiting.delete(id);
    const left = (this.#perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) this.#perSource.set(entry.source, left);
    else this.#perSource.delete(entry.source);
  }

  /** Over half the budget: pressure; an episode is counted when it begins. */
  #updatePressure(): void {
    const now = this.handshakes * 2 > this.limits.handshakes;
    if (now && !this.#pressure) this.counters.pressureEpisodes++;
    this.#pressure = now;
  }
}
