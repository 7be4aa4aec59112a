/*
 * Reliable delivery of control messages (RFC 2661 §5.8), sans-I/O: one instance per tunnel end.
 *
 * Ns numbers each message we send (16 bits, wrapping; a ZLB acknowledgement carries the next Ns and
 * does not use it up); Nr is the Ns we expect next from the peer and acknowledges everything before
 * it. At most the peer's Receive Window Size messages are unacknowledged at once; the rest wait. A
 * message not acknowledged is sent again after 1 s, then 2, 4, 8, 8 s (capped), with the current Nr;
 * after 5 retransmissions without an acknowledgement the tunnel is down. What arrives in order is
 * delivered and acknowledged by our next message or, if none goes out within the ack delay, by a ZLB;
 * a duplicate is acknowledged at once (its ack was lost) and dropped; a message ahead of Nr within our
 * receive window is held until the gap fills; anything else is dropped and counted.
 *
 *   events in: CmdSend(body), RcvControl(ns, nr, body), Timeout      time passed in as `now` (ms)
 *   actions out: Send(ns, nr, body) (empty body: ZLB), Deliver(body), TunnelDown(reason)
 */

export interface ReliableDeliveryOptions {
  /** Our Receive Window Size (we advertise it in SCCRQ/SCCRP): how many messages ahead we hold. */
  readonly receiveWindow: number;
  readonly retransmitBaseMs: number;
  readonly retransmitCapMs: number;
  readonly maxRetransmits: number;
  /** How long an acknowledgement may wait for a message to ride on before a ZLB carries it. */
  readonly ackDelayMs: number;
}

export const defaultReliableDeliveryOptions: ReliableDeliveryOptions = { receiveWindow: 8, retransmitBaseMs: 1000, retransmitCapMs: 8000, maxRetransmits: 5, ackDelayMs: 100 };
/** §5.8: a peer that sends no Receive Window Size AVP can take 4. */
export const DEFAULT_PEER_WINDOW = 4;

export type DeliveryEvent =
  | { readonly kind: 'CmdSend'; readonly body: Uint8Array }
  | { readonly kind: 'RcvControl'; readonly ns: number; readonly nr: number; readonly body: Uint8Array }
  | { readonly kind: 'Timeout' };

export type DeliveryAction =
  | { readonly kind: 'Send'; readonly ns: number; readonly nr: number; readonly body: Uint8Array; readonly retransmission?: true }
  | { readonly kind: 'Deliver'; readonly body: Uint8Array }
  | { readonly kind: 'TunnelDown'; readonly reason: string };

export interface DeliveryCounters {
  sent: number;
  retransmitted: number;
  zlbSent: number;
  delivered: number;
  duplicates: number;
  held: number;
  outOfWindow: number;
  bogusNr: number;
}

interface Outstanding {
  readonly ns: number;
  readonly body: Uint8Array;
  retransmits: number;
  due: number;
}

/** (a - b) modulo 2^16: how far a is ahead of b. */
const ahead = (a: number, b: number): number => (a - b) & 0xffff;

export class ReliableDelivery {
  readonly counters: DeliveryCounters = { sent: 0, retransmitted: 0, zlbSent: 0, delivered: 0, duplicates: 0, held: 0, outOfWindow: 0, bogusNr: 0 };
  #nextNs = 0;
  #nr = 0;
  #peerWindow: number;
  readonly #outstanding: Outstanding[] = [];
  readonly #waiting: Uint8Array[] = [];
  readonly #held = new Map<number, Uint8Array>();
  #ackDue: number | undefined;
  #down = false;

  constructor(readonly options: ReliableDeliveryOptions = defaultReliableDeliveryOptions, peerWindow = DEFAULT_PEER_WINDOW) {
    this.#peerWindow = Math.max(1, peerWindow);
  }

  /** From the peer's Receive Window Size AVP (§4.4.3); 0 is not allowed, so at least 1. */
  setPeerWindow(window: number): void {
    this.#peerWindow = Math.max(1, Math.min(window, 0xffff));
  }

  /** Nothing unacknowledged or waiting: a StopCCN has been acknowledged, for instance. */
  get idle(): boolean {
    return this.#outstanding.length === 0 && this.#waiting.length === 0;
  }

  get down(): boolean {
    return this.#down;
  }

  nextTimeout(): number | undefined {
    if (this.#down) return undefined;
    let next = this.#ackDue;
    for (const o of this.#outstanding) if (next === undefined || o.due < next) next = o.due;
    return next;
  }

  handle(event: DeliveryEvent, now: number): DeliveryAction[] {
    if (this.#down) return [];
    const actions: DeliveryAction[] = [];
    switch (event.kind) {
      case 'CmdSend':
        this.#waiting.push(event.body);
        this.#pump(now, actions);
        break;
      case 'RcvControl':
        this.#receive(event.ns, event.nr, event.body, now, actions);
        break;
      case 'Timeout':
        this.#timeout(now, actions);
        break;
    }
    return actions;
  }

  #pump(now: number, actions: DeliveryAction[]): void {
    while (this.#waiting.length > 0 && this.#outstanding.length < this.#peerWindow) {
      const body = this.#waiting.shift()!;
      const o: Outstanding = { ns: this.#nextNs, body, retransmits: 0, due: now + this.options.retransmitBaseMs };
      this.#nextNs = (this.#nextNs + 1) & 0xffff;
      this.#outstanding.push(o);
      this.counters.sent++;
      this.#ackDue = undefined; // our Nr rides on it
      actions.push({ kind: 'Send', ns: o.ns, nr: this.#nr, body });
    }
  }

  #acknowledge(nr: number): void {
    const first = this.#outstanding[0];
    if (!first) {
      if (nr !== this.#nextNs) this.counters.bogusNr++;
      return;
    }
    const count = ahead(nr, first.ns);
    if (count > this.#outstanding.length) return void this.counters.bogusNr++;
    this.#outstanding.splice(0, count);
  }

  #receive(ns: number, nr: number, body: Uint8Array, now: number, actions: DeliveryAction[]): void {
    this.#acknowledge(nr);
    if (body.length > 0) this.#accept(ns, body, now, actions);
    this.#pump(now, actions);
  }

  #accept(ns: number, body: Uint8Array, now: number, actions: DeliveryAction[]): void {
    const distance = ahead(ns, this.#nr);
    if (distance >= 0x8000) {
      // Behind Nr: we had it; the peer did not hear our ack.
      this.counters.duplicates++;
      this.#sendZlb(actions);
      return;
    }
    if (distance > 0) {
      if (distance < this.options.receiveWindow && !this.#held.has(ns)) (this.#held.set(ns, body), this.counters.held++);
      else if (distance >= this.options.receiveWindow) this.counters.outOfWindow++;
      return;
    }
    let next: Uint8Array | undefined = body;
    while (next) {
      actions.push({ kind: 'Deliver', body: next });
      this.counters.delivered++;
      this.#held.delete(this.#nr);
      this.#nr = (this.#nr + 1) & 0xffff;
      next = this.#held.get(this.#nr);
    }
    this.#ackDue ??= now + this.options.ackDelayMs;
  }

  #sendZlb(actions: DeliveryAction[]): void {
    this.#ackDue = undefined;
    this.counters.zlbSent++;
    actions.push({ kind: 'Send', ns: this.#nextNs, nr: this.#nr, body: new Uint8Array(0) });
  }

  #timeout(now: number, actions: DeliveryAction[]): void {
    for (const o of this.#outstanding) {
      if (o.due > now) continue;
      if (o.retransmits >= this.options.maxRetransmits) {
        this.#down = true;
        actions.push({ kind: 'TunnelDown', reason: `control message Ns ${o.ns} not acknowledged after ${o.retransmits} retransmissions (RFC 2661 §5.8)` });
        return;
      }
      o.retransmits++;
      o.due = now + Math.min(this.options.retransmitBaseMs * 2 ** o.retransmits, this.options.retransmitCapMs);
      this.counters.retransmitted++;
      this.#ackDue = undefined;
      actions.push({ kind: 'Send', ns: o.ns, nr: this.#nr, body: o.body, retransmission: true });
    }
    if (this.#ackDue !== undefined && this.#ackDue <= now) this.#sendZlb(actions);
  }
}
