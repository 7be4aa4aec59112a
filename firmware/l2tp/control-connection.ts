/*
 * One L2TP tunnel's control connection and its incoming-call sessions (RFC 2661 §5.1, §7.2, §7.4),
 * as LNS or LAC, sans-I/O. Reliable delivery (§5.8) is reliable-delivery.ts; this is what rides on it.
 *
 *   tunnel  LAC: idle --CmdOpen/SCCRQ--> wait-ctl-reply --SCCRP/SCCCN--> established
 *           LNS: idle --SCCRQ/SCCRP--> wait-ctl-conn --SCCCN--> established
 *           any: --StopCCN sent--> closing (until acknowledged) --> closed;  StopCCN received --> closed
 *   session LAC: --CmdOpenSession/ICRQ--> wait-reply --ICRP/ICCN--> established
 *           LNS: --ICRQ/ICRP--> wait-connect --ICCN--> established;  CDN either way --> gone
 *
 * With a tunnel secret each side challenges the other (§4.2, §5.1.1) and a wrong or missing answer
 * ends the tunnel with StopCCN result 4. An unrecognised AVP with the M bit ends the session it came
 * in (CDN) or else the tunnel (StopCCN), result 2, error 8 (§4.1). Outgoing calls (OCRQ) are refused
 * with a CDN: Postern answers calls, it places none.
 * Tie breaking between two simultaneous SCCRQs belongs to whoever owns several tunnels (tunnel table).
 */
import { decodeAvps } from './avp.ts';
import { decodeL2tpPacket, encodeL2tpPacket } from './header.ts';
import { MessageType, type AvpField, type L2tpAvps, type MessageTypeValue, type ResultCode } from './avp-types.ts';
import { decodeControlMessage, encodeControlMessage, refusedAsLns, type ControlMessage } from './control-message.ts';
import { ReliableDelivery, defaultReliableDeliveryOptions, type DeliveryAction, type ReliableDeliveryOptions } from './reliable-delivery.ts';
import { challengeResponse, checkChallengeResponse } from './tunnel-auth.ts';
import type { Secret } from '../util/secret.ts';

export type TunnelState = 'idle' | 'wait-ctl-reply' | 'wait-ctl-conn' | 'established' | 'closing' | 'closed';
export type SessionState = 'wait-reply' | 'wait-connect' | 'established';

export interface TunnelConfig {
  readonly role: 'lns' | 'lac';
  readonly hostName: string;
  /** Our Assigned Tunnel ID, chosen by the tunnel table (unique while the tunnel lives). */
  readonly localTunnelId: number;
  readonly secret?: Secret<Uint8Array>;
  /** With a secret: hide our session AVPs (§4.3), as xl2tpd's `hidden bit`; off when absent. */
  readonly hideAvps?: boolean;
  readonly delivery?: ReliableDeliveryOptions;
  /** A HELLO after this long without hearing from the peer (§6.5); 60 s as xl2tpd. */
  readonly helloIntervalMs?: number;
  /** Injected randomness (challenges). */
  readonly random: (length: number) => Uint8Array;
}

export type TunnelEvent =
  | { readonly kind: 'CmdOpen' }
  | { readonly kind: 'CmdOpenSession'; readonly localSessionId: number; readonly callSerialNumber: number }
  | { readonly kind: 'CmdCloseSession'; readonly localSessionId: number; readonly resultCode: ResultCode }
  | { readonly kind: 'CmdClose'; readonly resultCode: ResultCode }
  | { readonly kind: 'RcvDatagram'; readonly bytes: Uint8Array }
  | { readonly kind: 'Timeout' };

export type TunnelAction =
  | { readonly kind: 'Send'; readonly datagram: Uint8Array }
  | { readonly kind: 'TunnelUp'; readonly peerTunnelId: number; readonly peerHostName: string }
  | { readonly kind: 'TunnelDown'; readonly reason: string }
  /** `sequencingRequired`: the LAC's ICCN asked for Ns/Nr on data messages (§4.4.6). */
  | { readonly kind: 'SessionUp'; readonly localSessionId: number; readonly peerSessionId: number; readonly sequencingRequired?: true }
  | { readonly kind: 'SessionDown'; readonly localSessionId: number; readonly reason: string }
  /** A datagram or message dropped (malformed, or a hidden AVP without the secret): counted by the shell. */
  | { readonly kind: 'Dropped'; readonly reason: string };

interface Session {
  state: SessionState;
  peerSessionId: number;
}

/**
 * What we hide when told to (§4.3): the session identifiers and call serial number, which let an
 * observer of plain L2TP follow and inject into sessions; the tunnel's own AVPs stay clear so a peer
 * can still read who we are before checking the secret.
 */
export const HIDDEN_FIELDS = ['assignedSessionId', 'callSerialNumber'] as const satisfies readonly AvpField[];

/** §5.7: after a StopCCN, acknowledgements go on for a full retransmission cycle (1+2+4+8+8+8 s). */
const HEADER_TIMEOUT_CLOSED_MS = 31_000;

const SESSION_MESSAGES = new Set<number>([MessageType.ICRQ, MessageType.ICRP, MessageType.ICCN, MessageType.CDN, MessageType.WEN, MessageType.SLI]);
/** The Message Type of a message the codec refused, read from its first AVP (-1 when there is none). */
function messageTypeOf(body: Uint8Array): number {
  const avps = decodeAvps(body);
  const first = avps.ok ? avps.value[0] : undefined;
  return first && first.attributeType === 0 && first.vendorId === 0 && first.value.length === 2 ? ((first.value[0] ?? 0) << 8) | (first.value[1] ?? 0) : -1;
}

const LEGAL_MOVES: Readonly<Record<TunnelState, readonly TunnelState[]>> = {
  idle: ['wait-ctl-reply', 'wait-ctl-conn', 'closing', 'closed'],
  'wait-ctl-reply': ['established', 'closing', 'closed'],
  'wait-ctl-conn': ['established', 'closing', 'closed'],
  established: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/**
 * §4.4.3 Tie Breaker, for the tunnel table when an SCCRQ arrives from a peer it has an SCCRQ of its
 * own outstanding to: the lower value wins, equal values both lose, and a side that sent none loses
 * to one that did. Without a Tie Breaker from the peer there is no tie: both tunnels may stand.
 */
export function tieBreak(ours: bigint | undefined, theirs: bigint | undefined): 'no-tie' | 'ours-wins' | 'theirs-wins' | 'both-lose' {
  if (theirs === undefined) return 'no-tie';
  if (ours === undefined || theirs < ours) return 'theirs-wins';
  return theirs === ours ? 'both-lose' : 'ours-wins';
}

export class L2tpTunnel {
  #state: TunnelState = 'idle';
  /** Every move, `from -> to (why)`, for the shell's log and counters; bounded by the few moves a tunnel makes. */
  readonly transitions: string[] = [];
  peerTunnelId = 0;
  readonly sessions = new Map<number, Session>();
  readonly delivery: ReliableDelivery;
  #challenge: Uint8Array | undefined;
  #peerHostName = '';
  #lastHeard = 0;
  #closedUntil: number | undefined;
  #nextSessionId: () => number;
  /** The header Session ID each message body goes with, kept for its retransmissions (§3.1: the peer's ID of the session, 0 for the tunnel). */
  readonly #sessionOfBody = new WeakMap<Uint8Array, number>();
  /** The header Session ID each received body came with: our ID of the session it concerns. */
  readonly #headerSessionOf = new WeakMap<Uint8Array, number>();

  constructor(readonly config: TunnelConfig, nextSessionId: () => number = counter()) {
    this.delivery = new ReliableDelivery(config.delivery ?? defaultReliableDeliveryOptions);
    this.#nextSessionId = nextSessionId;
  }

  get state(): TunnelState {
    return this.#state;
  }

  /** The one place the tunnel changes state; an illegal move is a bug here, not peer input. */
  #setState(next: TunnelState, why: string): void {
    if (!LEGAL_MOVES[this.#state].includes(next)) throw new Error(`L2TP tunnel ${this.config.localTunnelId}: illegal move ${this.#state} -> ${next} (${why})`);
    this.transitions.push(`${this.#state} -> ${next} (${why})`);
    this.#state = next;
  }

  nextTimeout(): number | undefined {
    const d = this.delivery.nextTimeout();
    const hello = this.state === 'established' ? this.#lastHeard + (this.config.helloIntervalMs ?? 60_000) : undefined;
    return [d, hello, this.#closedUntil].filter((x): x is number => x !== undefined).reduce<number | undefined>((a, b) => (a === undefined || b < a ? b : a), undefined);
  }

  handle(event: TunnelEvent, now: number): TunnelAction[] {
    const out: TunnelAction[] = [];
    if (this.state === 'closed' && event.kind !== 'RcvDatagram' && event.kind !== 'Timeout') return out;
    switch (event.kind) {
      case 'CmdOpen': return this.#open(now, out);
      case 'CmdOpenSession':
        if (this.state !== 'established' || this.sessions.has(event.localSessionId)) return out;
        this.sessions.set(event.localSessionId, { state: 'wait-reply', peerSessionId: 0 });
        this.#send(MessageType.ICRQ, 0, { assignedSessionId: event.localSessionId, callSerialNumber: event.callSerialNumber }, now, out);
        return out;
      case 'CmdCloseSession': return this.#closeSession(event.localSessionId, event.resultCode, now, out, true);
      case 'CmdClose': return (this.#stop(event.resultCode, now, out), out);
      case 'RcvDatagram': return this.#receive(event.bytes, now, out);
      case 'Timeout': return this.#timeout(now, out);
    }
  }

  #open(now: number, out: TunnelAction[]): TunnelAction[] {
    if (this.config.role !== 'lac' || this.state !== 'idle') return out;
    this.#setState('wait-ctl-reply', 'SCCRQ sent');
    this.#send(MessageType.SCCRQ, 0, { ...this.#ourTunnelAvps(), ...this.#ourChallenge() }, now, out);
    return out;
  }

  #ourTunnelAvps(): L2tpAvps {
    return { protocolVersion: { version: 1, revision: 0 }, hostName: this.config.hostName, framingCapabilities: 3, bearerCapabilities: 3, firmwareRevision: 1, vendorName: 'Postern', assignedTunnelId: this.config.localTunnelId, receiveWindowSize: this.delivery.options.receiveWindow };
  }

  #ourChallenge(): L2tpAvps {
    if (!this.config.secret) return {};
    this.#challenge = this.config.random(16);
    return { challenge: this.#challenge };
  }

  #send(type: MessageTypeValue, sessionId: number, avps: L2tpAvps, now: number, out: TunnelAction[]): void {
    const secret = this.config.hideAvps ? this.config.secret : undefined;
    const fields = secret ? HIDDEN_FIELDS.filter((f) => avps[f] !== undefined) : [];
    const body = encodeControlMessage(type, avps, secret && fields.length > 0 ? { hide: { secret, randomVector: this.config.random(16), fields } } : {});
    this.#sessionOfBody.set(body, sessionId);
    this.#emit(this.delivery.handle({ kind: 'CmdSend', body }, now), now, out);
  }

  #emit(actions: DeliveryAction[], now: number, out: TunnelAction[]): void {
    for (const a of actions) {
      if (a.kind === 'Send') out.push({ kind: 'Send', datagram: encodeL2tpPacket({ type: 'control', tunnelId: this.peerTunnelId, sessionId: this.#sessionOfBody.get(a.body) ?? 0, ns: a.ns, nr: a.nr }, a.body) });
      else if (a.kind === 'TunnelDown') this.#down(a.reason, out);
      else this.#message(a.body, now, out);
    }
  }

  #down(reason: string, out: TunnelAction[]): void {
    if (this.state === 'closed') return;
    this.#setState('closed', reason);
    for (const id of this.sessions.keys()) out.push({ kind: 'SessionDown', localSessionId: id, reason: 'tunnel down' });
    this.sessions.clear();
    out.push({ kind: 'TunnelDown', reason });
  }

  #receive(bytes: Uint8Array, now: number, out: TunnelAction[]): TunnelAction[] {
    const p = decodeL2tpPacket(bytes);
    if (!p.ok) return (out.push({ kind: 'Dropped', reason: p.error.message }), out);
    if (p.value.header.type !== 'control') return out; // data frames go to the data path, not here
    this.#lastHeard = now;
    const { ns, nr, sessionId } = p.value.header;
    this.#headerSessionOf.set(p.value.payload, sessionId);
    this.#emit(this.delivery.handle({ kind: 'RcvControl', ns, nr, body: p.value.payload }, now), now, out);
    if (this.state === 'closing' && this.delivery.idle) this.#down('StopCCN acknowledged', out);
    return out;
  }

  #message(body: Uint8Array, now: number, out: TunnelAction[]): void {
    if (this.state === 'closed' || this.state === 'closing') return; // only acknowledged now (§5.7)
    const d = decodeControlMessage(body, { secret: this.config.secret });
    const local = this.#headerSessionOf.get(body) ?? 0;
    if (!d.ok) {
      if (d.error.code !== 'UNSUPPORTED_CRITICAL_PAYLOAD') return void out.push({ kind: 'Dropped', reason: d.error.message });
      // §4.1: a session's message clears that session; a tunnel's message, the tunnel.
      const unknown = { result: 2, error: 8, message: d.error.message };
      if (SESSION_MESSAGES.has(messageTypeOf(body)) && this.sessions.has(local)) return void this.#closeSession(local, unknown, now, out, true);
      return this.#stop(unknown, now, out);
    }
    if (d.value.kind === 'ignored') return;
    const m = d.value;
    switch (m.messageType) {
      case MessageType.SCCRQ: return this.#onSccrq(m, now, out);
      case MessageType.SCCRP: return this.#onSccrp(m, now, out);
      case MessageType.SCCCN: return this.#onScccn(m, now, out);
      case MessageType.StopCCN: return this.#onStopCcn(m, now, out);
      case MessageType.ICRQ: return this.#onIcrq(m, now, out);
      case MessageType.ICRP: return this.#onIcrp(m, local, now, out);
      case MessageType.ICCN: return this.#onIccn(m, local, out);
      case MessageType.CDN: return this.#onCdn(m, local, out);
      case MessageType.HELLO: case MessageType.WEN: case MessageType.SLI: return;
      default:
        if (refusedAsLns(m.messageType) && m.avps.assignedSessionId !== undefined) this.#send(MessageType.CDN, m.avps.assignedSessionId, { resultCode: { result: 5, error: 0, message: 'outgoing calls are not placed' }, assignedSessionId: 0 }, now, out);
    }
  }

  #fsmError(what: string, now: number, out: TunnelAction[]): void {
    this.#stop({ result: 7, error: 0, message: `${what} in state ${this.state}` }, now, out);
  }

  #onSccrq(m: ControlMessage, now: number, out: TunnelAction[]): void {
    if (this.config.role !== 'lns' || this.state !== 'idle') return this.#fsmError('SCCRQ', now, out);
    this.peerTunnelId = m.avps.assignedTunnelId!;
    this.#peerHostName = m.avps.hostName!;
    if (m.avps.receiveWindowSize) this.delivery.setPeerWindow(m.avps.receiveWindowSize);
    if (m.avps.protocolVersion?.version !== 1) return this.#stop({ result: 5, error: 0 }, now, out);
    const response = this.#respond(MessageType.SCCRP, m);
    this.#setState('wait-ctl-conn', 'SCCRP sent');
    this.#send(MessageType.SCCRP, 0, { ...this.#ourTunnelAvps(), ...this.#ourChallenge(), ...response }, now, out);
  }

  #respond(carrier: typeof MessageType.SCCRP | typeof MessageType.SCCCN, m: ControlMessage): L2tpAvps {
    return m.avps.challenge && this.config.secret ? { challengeResponse: challengeResponse(carrier, this.config.secret, m.avps.challenge) } : {};
  }

  /** §5.1.1: a configured secret means the peer must have answered our challenge. */
  #authenticated(carrier: typeof MessageType.SCCRP | typeof MessageType.SCCCN, m: ControlMessage): boolean {
    if (!this.config.secret || !this.#challenge) return true;
    return checkChallengeResponse(carrier, this.config.secret, this.#challenge, m.avps.challengeResponse);
  }

  #onSccrp(m: ControlMessage, now: number, out: TunnelAction[]): void {
    if (this.state !== 'wait-ctl-reply') return this.#fsmError('SCCRP', now, out);
    this.peerTunnelId = m.avps.assignedTunnelId!;
    if (m.avps.receiveWindowSize) this.delivery.setPeerWindow(m.avps.receiveWindowSize);
    if (!this.#authenticated(MessageType.SCCRP, m)) return this.#stop({ result: 4, error: 0, message: 'tunnel authentication failed' }, now, out);
    if (this.config.secret && !m.avps.challenge) return this.#stop({ result: 4, error: 0, message: 'the LNS sent no challenge' }, now, out);
    this.#setState('established', 'SCCRP accepted');
    this.#send(MessageType.SCCCN, 0, this.#respond(MessageType.SCCCN, m), now, out);
    out.push({ kind: 'TunnelUp', peerTunnelId: this.peerTunnelId, peerHostName: m.avps.hostName! });
  }

  #onScccn(m: ControlMessage, now: number, out: TunnelAction[]): void {
    if (this.state !== 'wait-ctl-conn') return this.#fsmError('SCCCN', now, out);
    if (!this.#authenticated(MessageType.SCCCN, m)) return this.#stop({ result: 4, error: 0, message: 'tunnel authentication failed' }, now, out);
    this.#setState('established', 'SCCCN accepted');
    out.push({ kind: 'TunnelUp', peerTunnelId: this.peerTunnelId, peerHostName: this.#peerHostName });
  }

  #onStopCcn(m: ControlMessage, now: number, out: TunnelAction[]): void {
    // §5.7: acknowledge, then keep answering retransmissions for a full retransmission cycle.
    this.#closedUntil = now + HEADER_TIMEOUT_CLOSED_MS;
    this.#down(`peer sent StopCCN, result ${m.avps.resultCode?.result}${m.avps.resultCode?.message ? `: ${m.avps.resultCode.message}` : ''}`, out);
  }

  #onIcrq(m: ControlMessage, now: number, out: TunnelAction[]): void {
    if (this.state !== 'established' || this.config.role !== 'lns') return this.#fsmError('ICRQ', now, out);
    // Never a live session's ID, and never 0 (§3.1: 0 names the tunnel).
    let local = this.#nextSessionId();
    for (let i = 0; (local === 0 || this.sessions.has(local)) && i < 0x10000; i++) local = this.#nextSessionId();
    if (local === 0 || this.sessions.has(local)) return this.#send(MessageType.CDN, m.avps.assignedSessionId!, { resultCode: { result: 4, error: 4 }, assignedSessionId: 0 }, now, out);
    this.sessions.set(local, { state: 'wait-connect', peerSessionId: m.avps.assignedSessionId! });
    this.#send(MessageType.ICRP, m.avps.assignedSessionId!, { assignedSessionId: local }, now, out);
  }

  #onIcrp(m: ControlMessage, local: number, now: number, out: TunnelAction[]): void {
    const s = this.sessions.get(local);
    if (!s || s.state !== 'wait-reply') return;
    s.peerSessionId = m.avps.assignedSessionId!;
    s.state = 'established';
    this.#send(MessageType.ICCN, s.peerSessionId, { txConnectSpeed: 100_000_000, framingType: 1 }, now, out);
    out.push({ kind: 'SessionUp', localSessionId: local, peerSessionId: s.peerSessionId });
  }

  #onIccn(m: ControlMessage, local: number, out: TunnelAction[]): void {
    const s = this.sessions.get(local);
    if (!s || s.state !== 'wait-connect') return;
    s.state = 'established';
    out.push({ kind: 'SessionUp', localSessionId: local, peerSessionId: s.peerSessionId, ...(m.avps.sequencingRequired ? { sequencingRequired: true as const } : {}) });
  }

  /** §6.14: the header names our session, unless the peer never learnt our ID (then its Assigned Session ID does). */
  #onCdn(m: ControlMessage, local: number, out: TunnelAction[]): void {
    const id = this.sessions.has(local) ? local : [...this.sessions].find(([, s]) => s.peerSessionId === m.avps.assignedSessionId)?.[0];
    if (id === undefined) return;
    this.sessions.delete(id);
    out.push({ kind: 'SessionDown', localSessionId: id, reason: `peer sent CDN, result ${m.avps.resultCode!.result}` });
  }

  #closeSession(local: number, resultCode: ResultCode, now: number, out: TunnelAction[], announce: boolean): TunnelAction[] {
    const s = this.sessions.get(local);
    if (!s) return out;
    this.sessions.delete(local);
    this.#send(MessageType.CDN, s.peerSessionId, { resultCode, assignedSessionId: local }, now, out);
    if (announce) out.push({ kind: 'SessionDown', localSessionId: local, reason: 'closed locally' });
    return out;
  }

  #stop(resultCode: ResultCode, now: number, out: TunnelAction[]): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.#setState('closing', `StopCCN sent, result ${resultCode.result}`);
    for (const id of this.sessions.keys()) out.push({ kind: 'SessionDown', localSessionId: id, reason: 'tunnel closing' });
    this.sessions.clear();
    this.#send(MessageType.StopCCN, 0, { assignedTunnelId: this.config.localTunnelId, resultCode }, now, out);
  }

  #timeout(now: number, out: TunnelAction[]): TunnelAction[] {
    if (this.#closedUntil !== undefined && now >= this.#closedUntil) this.#closedUntil = undefined;
    this.#emit(this.delivery.handle({ kind: 'Timeout' }, now), now, out);
    if (this.state === 'established' && now >= this.#lastHeard + (this.config.helloIntervalMs ?? 60_000)) {
      this.#lastHeard = now;
      this.#send(MessageType.HELLO, 0, {}, now, out);
    }
    return out;
  }
}

function counter(): () => number {
  let n = 0;
  return () => (n = (n % 0xffff) + 1);
}
