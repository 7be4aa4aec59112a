import type { ChildSaInfo, Endpoint, IkeAction, IkeConnection, IkeCryptoProvider } from '../../ike/engine/types.ts';
import { decodeFragmentMessage, fragmentMessage, isFragmentMessage, Reassembler } from '../fragments.ts';
import { decodeIsakmpMessage, type IsakmpMessage } from '../message.ts';
import { ExchangeType, notifyName, ProtocolId } from '../registry.ts';
import { defaultIkev1Options, type Ikev1Context, type Ikev1Options, type RetransmitHolder } from './context.ts';
import type { Phase1Sa } from './ikev1-sa.ts';
import { deletePayloads, handleInformational, PEER_DELETED_ISAKMP, sendInformational } from './informational.ts';
import { dpdDue, runDpd } from './dpd.ts';
import { adoptChildren, announcePhase1Lifetime, childRekeyAfterMs, handOverOnDelete, parkChildren, phase1RekeyAt, responderLifetime, startPhase1Rekey, uncovered } from './lifetimes.ts';
import { handleAm2, respondAm1, respondAm3, startAggressiveMode } from './aggressive-mode.ts';
import { handleMm2, handleMm4, handleMm6, respondMm1, respondMm3, respondMm5, startMainMode } from './main-mode.ts';
import { describeOutgoing, EXCHANGE_NAMES, exchangeIv, messageHash, open, payloadNames, type Opened } from './protect.ts';
import { abandonAnswered, handleQm2, handleQm3, ourSelectorPairs, respondQm1, retireChild, startQuickMode } from './quick-mode.ts';
import { Wakeups } from '../../util/wakeups.ts';

const cookieKey = (c: bigint) => c.toString(16).padStart(16, '0');

/**
 * The sans-I/O IKEv1 engine (RFC 2409): Main Mode with pre-shared keys and Quick Mode, as
 * responder and initiator. Packets, commands and ticks come in with the time; everything to do
 * comes back as the same actions the IKEv2 engine emits (`send`, `install-child`, `ike-up`, …),
 * so the shells and the data-plane installer serve both. ISAKMP SAs are found by the initiator's
 * cookie; Main Mode has no message IDs, so duplicates are recognised by the hash of the message
 * and answered with the answer already sent.
 */
export class Ikev1Engine {
  readonly options: Ikev1Options;
  /** Dropped messages by reason (peer input never throws; it is counted). */
  readonly drops: Record<string, number> = {};
  readonly #connections: readonly IkeConnection[];
  readonly #crypto: IkeCryptoProvider;
  readonly #sas = new Map<string, Phase1Sa>();
  /** Live SAs by connection and peer address (Phase1Sa.place), so `others` looks only at those (issue 23). */
  readonly #byPlace = new Map<string, Set<Phase1Sa>>();
  #added = 0;
  readonly #closed: Phase1Sa[] = [];
  readonly #spis = new Set<number>();
  #actions: IkeAction[] = [];
  #now = 0;
  #inHash = '';
  readonly #reassembler = new Reassembler();
  #fragmentId = 0;
  /** The message being handled waits for something (a revocation fetch): its duplicate is not one. */
  #unanswered = false;
  /**
   * Every SA's next deadline (retransmission, half-open expiry, DPD, renewal, retirement, child
   * rekeys): `nextTimeout` and `tick` read the earliest instead of looking through every SA (issue
   * 23). An SA the engine worked on, or handed to a handler through `others`, is marked touched and
   * its deadline worked out again at `#end`.
   */
  readonly #timers = new Wakeups<Phase1Sa>();
  readonly #touched = new Set<Phase1Sa>();
  /** Responder SAs that were half-open when last looked at (the flood limits count them, not every SA). */
  readonly #halfOpen = new Set<Phase1Sa>();

  constructor(connections: readonly IkeConnection[], crypto: IkeCryptoProvider, options: Partial<Ikev1Options> = {}) {
    this.#connections = connections;
    this.#crypto = crypto;
    this.options = { ...defaultIkev1Options, ...options };
  }

  /** Live SAs, then the closed ones (for tests and status). */
  get sas(): Phase1Sa[] {
    return [...this.#sas.values(), ...this.#closed];
  }

  /** A packet received on UDP 500, or on 4500 with the non-ESP marker already removed. */
  handlePacket(packet: Uint8Array, from: Endpoint, to: Endpoint, now: number): IkeAction[] {
    this.#begin(now);
    if (isFragmentMessage(packet)) return this.#fragment(packet, from, to);
    const m = decodeIsakmpMessage(packet);
    if (!m.ok) {
      this.#drop('malformed', `malformed ISAKMP message from ${from.address}: ${m.error.message}`);
      return this.#end();
    }
    const h = m.value.header;
    const sa = this.#sas.get(cookieKey(h.initiatorCookie));
    if (sa) this.#touched.add(sa);
    if (sa && h.responderCookie !== 0n && sa.ckyR !== 0n && h.responderCookie !== sa.ckyR) {
      this.#drop('cookie', `message from ${from.address} with an unknown responder cookie`);
      return this.#end();
    }
    const hash = messageHash(m.value.raw);
    const answer = sa?.answers.get(hash);
    if (sa && answer !== undefined) {
      if (answer.length) this.#sendTo(sa, answer);
      this.#drop('duplicate', `duplicate ${EXCHANGE_NAMES[h.exchangeType] ?? h.exchangeType} message from ${from.address}${answer.length ? ': answer resent' : ''}`);
      return this.#end();
    }
    this.#inHash = hash;
    this.#unanswered = false;
    if (!m.value.encrypted) this.#log('debug', `recv ${EXCHANGE_NAMES[h.exchangeType] ?? h.exchangeType} [${payloadNames(m.value.payloads)}] from ${from.address}:${from.port}`);
    switch (h.exchangeType) {
      case ExchangeType.IDENTITY_PROTECTION: this.#mainMode(sa, m.value, from, to); break;
      case ExchangeType.QUICK_MODE: this.#quickMode(sa, m.value, from, to); break;
      case ExchangeType.INFORMATIONAL: this.#informational(sa, m.value); break;
      case ExchangeType.AGGRESSIVE: this.#aggressiveMode(sa, m.value, from, to); break;
      default: this.#drop('exchange', `exchange type ${h.exchangeType} from ${from.address} is not supported`);
    }
    // Handled once: the same bytes again are a duplicate, whether or not they had an answer.
    const handled = this.#sas.get(cookieKey(h.initiatorCookie));
    if (handled) this.#touched.add(handled);
    if (handled && !handled.answers.has(hash) && !this.#unanswered) handled.remember(hash, new Uint8Array());
    return this.#end();
  }

  /** Starts Main Mode, then Quick Mode, with the connection's peer. */
  initiate(name: string, local: Endpoint, now: number): IkeAction[] {
    this.#begin(now);
    const conn = this.#connections.find((c) => c.name === name);
    if (!conn?.remoteAddress) throw new Error(`no connection ${name} with a remote address`);
    const sa = (conn.aggressive ? startAggressiveMode : startMainMode)(this.#context(), conn, local, { address: conn.remoteAddress, port: 500 });
    this.#add(sa);
    this.#touched.add(sa);
    this.#log('info', `initiating ${conn.aggressive ? 'Aggressive' : 'Main'} Mode to ${conn.remoteAddress} for ${name}`);
    return this.#end();
  }

  /** Deletes an ISAKMP SA and its children, telling the peer. */
  terminate(ckyI: bigint, now: number): IkeAction[] {
    this.#begin(now);
    const sa = this.#sas.get(cookieKey(ckyI));
    if (sa) this.#close(sa, 'terminated by command');
    return this.#end();
  }

  tick(now: number): IkeAction[] {
    this.#begin(now);
    for (const sa of this.#timers.takeDue(now)) {
      if (sa.state === 'closed') continue; // closed by an earlier one's work
      this.#touched.add(sa);
      this.#tickSa(sa, now);
    }
    return this.#end();
  }

  #tickSa(sa: Phase1Sa, now: number): void {
    if (sa.state !== 'established' && now - sa.createdAt >= this.options.halfOpenTimeoutMs) {
      const why = sa.undecryptable ? `: message ${sa.initiator ? 6 : 5} never decrypted, the pre-shared keys differ` : '';
      this.#close(sa, `Main Mode not complete after ${this.options.halfOpenTimeoutMs / 1000} s${why}`);
      return;
    }
    if (!this.#resend(sa, sa, now)) {
      this.#close(sa, `no answer from ${sa.remote.address} after ${this.options.retransmitTries} retransmissions`);
      return;
    }
    const dead = runDpd(this.#context(), sa);
    if (dead) {
      this.#log('warn', `${sa.connection?.name ?? 'IKEv1'} with ${sa.remote.address}: ${dead}`);
      this.#close(sa, dead, false);
      return;
    }
    if (sa.retireAt !== undefined && now >= sa.retireAt) {
      // Replaced: its children moved, so our delete names only the ISAKMP SA. Parked (the peer
      // deleted it) and never adopted: its children go now, and the site with them.
      if (sa.replacedBy !== undefined) this.#close(sa, `replaced by ISAKMP SA ${sa.replacedBy.toString(16)}`, sa.parkedAt === undefined);
      else this.#close(sa, `${PEER_DELETED_ISAKMP}, and no new ISAKMP SA took its children`, false);
      return;
    }
    const renewAt = phase1RekeyAt(sa);
    if (renewAt !== undefined && now >= renewAt) {
      const fresh = startPhase1Rekey(this.#context(), sa);
      this.#add(fresh);
      this.#touched.add(fresh);
    }
    this.#rekeyChildren(sa);
    for (const [spi, at] of [...sa.retiring]) {
      const old = sa.children.find((c) => c.inbound.spi === spi);
      if (!old) sa.retiring.delete(spi);
      else if (now >= at) retireChild(this.#context(), sa, old);
    }
    for (const qm of [...sa.quickModes.values()]) {
      if (!this.#resend(sa, qm, now)) {
        sa.quickModes.delete(qm.messageId);
        abandonAnswered(this.#context(), sa, qm);
        this.#log('warn', `Quick Mode ${qm.messageId.toString(16)} with ${sa.remote.address} abandoned: no answer (connection ${sa.connection?.name ?? '?'})`);
      }
    }
  }

  /**
   * Children older than the connection's rekey time get a new Quick Mode for the same selectors
   * (RFC 2409 §5.5); the Main Mode initiator does it, so the two ends do not race.
   */
  #rekeyChildren(sa: Phase1Sa): void {
    if (!sa.initiator || sa.state !== 'established' || sa.replacedBy !== undefined || sa.parkedAt !== undefined) return;
    for (const child of this.#rekeyable(sa)) {
      const pair = sa.childSelectors.get(child.inbound.spi);
      const after = childRekeyAfterMs(sa, child);
      if (pair && after && this.#now >= (sa.childBorn.get(child.inbound.spi) ?? 0) + after) startQuickMode(this.#context(), sa, pair, child);
    }
  }

  /** Children with no rekey in flight, and not replaced already (retiring). */
  #rekeyable(sa: Phase1Sa): ChildSaInfo[] {
    const busy = new Set([...sa.quickModes.values()].flatMap((q) => (q.replaces && q.state !== 'done' ? [q.replaces.inbound.spi] : [])));
    return sa.children.filter((c) => !busy.has(c.inbound.spi) && !sa.retiring.has(c.inbound.spi));
  }

  /** When `tick` next has something to do, or undefined when nothing is scheduled (possibly a little early). */
  nextTimeout(): number | undefined {
    return this.#timers.next();
  }

  /** The SA's next deadline: each thing `#tickSa` does, when it would be due. */
  #dueOf(sa: Phase1Sa): number | undefined {
    let next = Infinity;
    if (sa.initiator && sa.state === 'established' && sa.replacedBy === undefined && sa.parkedAt === undefined) {
      for (const c of this.#rekeyable(sa)) {
        const after = childRekeyAfterMs(sa, c);
        if (after) next = Math.min(next, (sa.childBorn.get(c.inbound.spi) ?? 0) + after);
      }
    }
    next = Math.min(next, phase1RekeyAt(sa) ?? Infinity, sa.retireAt ?? Infinity);
    if (sa.state !== 'established') next = Math.min(next, sa.createdAt + this.options.halfOpenTimeoutMs);
    for (const at of sa.retiring.values()) next = Math.min(next, at);
    next = Math.min(next, dpdDue(this, sa) ?? Infinity);
    for (const holder of [sa, ...sa.quickModes.values()]) if (holder.retransmit) next = Math.min(next, this.#due(holder.retransmit));
    return next === Infinity ? undefined : next;
  }

  /** After the engine worked on an SA: its next deadline scheduled (a later one waits, util/wakeups.ts). */
  #wake(sa: Phase1Sa): void {
    if (sa.state !== 'closed') this.#timers.schedule(sa, this.#dueOf(sa));
  }

  #due(r: { sentAt: number; tries: number }): number {
    return r.sentAt + this.options.retransmitBaseMs * 2 ** (r.tries - 1);
  }

  /** Resends what is due; false once the tries are used up. */
  #resend(sa: Phase1Sa, holder: RetransmitHolder, now: number): boolean {
    const r = holder.retransmit;
    if (!r || now < this.#due(r)) return true;
    if (r.tries > this.options.retransmitTries) return false;
    r.tries++;
    r.sentAt = now;
    this.#sendTo(sa, r.packet);
    return true;
  }

  /** Half-open responder SAs at their limit, in all or from this address: a flood never starves established peers. */
  #halfOpenFull(from: Endpoint): boolean {
    for (const s of this.#halfOpen) if (s.state === 'established' || s.state === 'closed') this.#halfOpen.delete(s);
    if (this.#halfOpen.size >= this.options.halfOpenLimit) return true;
    let fromThere = 0;
    for (const s of this.#halfOpen) if (s.remote.address === from.address) fromThere++;
    return fromThere >= this.options.halfOpenPerSource;
  }

  /** A new responder SA: half-open until its Main or Aggressive Mode completes. */
  #admitted(fresh: Phase1Sa): void {
    this.#add(fresh);
    this.#halfOpen.add(fresh);
    this.#touched.add(fresh);
  }

  #mainMode(sa: Phase1Sa | undefined, m: IsakmpMessage, from: Endpoint, to: Endpoint): void {
    const h = m.header;
    const ctx = this.#context();
    if (!sa) {
      if (h.responderCookie !== 0n || m.encrypted) return this.#drop('unknown-sa', `Main Mode message for no known SA from ${from.address}`);
      if (this.#halfOpenFull(from)) return this.#drop('half-open', `Main Mode from ${from.address} dropped: too many half-open ISAKMP SAs`);
      const fresh = respondMm1(ctx, h.initiatorCookie, m.payloads, from, to);
      if (fresh) this.#admitted(fresh);
      return;
    }
    sa.lastHeard = this.#now;
    if (!m.encrypted) {
      sa.peerLifeSeconds = responderLifetime(m.payloads, ProtocolId.ISAKMP) ?? sa.peerLifeSeconds;
      let error: string | undefined;
      if (sa.initiator && sa.state === 'mm1') error = handleMm2(ctx, sa, h.responderCookie, m.payloads);
      else if (!sa.initiator && sa.state === 'mm2') error = respondMm3(ctx, sa, m.payloads, from, to);
      else if (sa.initiator && sa.state === 'mm3') error = handleMm4(ctx, sa, m.payloads, from, to);
      else return this.#drop('unexpected', `unexpected Main Mode message in state ${sa.state} from ${from.address}`);
      if (error) this.#fail(sa, error);
      return;
    }
    if (!sa.crypto?.keys || (sa.state !== 'mm4' && sa.state !== 'mm5')) return this.#drop('unexpected', `unexpected encrypted Main Mode message in state ${sa.state}`);
    const opened = this.#open(sa, sa.iv, m, 'Main Mode');
    if (!opened) return this.#undecryptable(sa);
    if (!sa.initiator) {
      // RFC 3947 §4: the initiator moved to port 4500 behind a NAT; answer where it now is.
      sa.local = to;
      sa.remote = from;
      const error = respondMm5(ctx, sa, opened);
      if (error) return this.#refuse(sa, error);
    } else {
      const error = handleMm6(ctx, sa, opened);
      if (error) return this.#refuse(sa, error);
    }
    this.#established(ctx, sa);
  }

  /** Phase 1 is up (Main or Aggressive Mode): a renewal takes over the children, else the SA is new; the initiator starts Quick Mode. */
  #established(ctx: Ikev1Context, sa: Phase1Sa): void {
    sa.establishedAt = this.#now;
    this.#log('info', `ISAKMP SA with ${sa.remote.address} (${sa.remoteId}) established for ${sa.connection!.name}${sa.natDetected ? ', NAT detected' : ''}`);
    const renewed = adoptChildren(ctx, sa);
    if (renewed) {
      this.#actions.push({ type: 'ike-rekeyed', oldSpi: renewed.ckyI, spi: sa.ckyI, connection: sa.connection!.name });
      this.#log('info', `ISAKMP SA ${renewed.ckyI.toString(16)} renewed by ${sa.ckyI.toString(16)}: ${sa.children.length} children carried over`);
    } else this.#actions.push({ type: 'ike-up', spi: sa.ckyI, connection: sa.connection!.name, remoteId: sa.remoteId, remote: sa.remote });
    announcePhase1Lifetime(ctx, sa);
    if (sa.initiator) for (const pair of uncovered(sa, ourSelectorPairs(sa))) startQuickMode(ctx, sa, pair);
  }

  /** A piece of a fragmented message (Main Mode 5/6 with certificates): the whole is handled once complete. */
  #fragment(packet: Uint8Array, from: Endpoint, to: Endpoint): IkeAction[] {
    const f = decodeFragmentMessage(packet);
    const r = f.ok ? this.#reassembler.add(`${from.address}:${from.port}`, f.value, this.#now) : { kind: 'dropped' as const, why: f.error.message };
    const whole = r.kind === 'complete' && !isFragmentMessage(r.packet) ? r.packet : undefined;
    if (r.kind === 'dropped') this.#drop('fragment', `IKE fragment from ${from.address} dropped: ${r.why}`);
    else if (r.kind === 'complete' && !whole) this.#drop('fragment', `fragments from ${from.address} reassemble to another fragment`);
    if (whole) {
      const sa = this.#sas.get(cookieKey(Buffer.from(whole.subarray(0, 8)).readBigUInt64BE()));
      if (sa) sa.peerFragmentation = true; // it sends fragments, so it takes them
      this.#log('debug', `reassembled a ${whole.length}-byte message from ${from.address}`);
    }
    const done = this.#end();
    return whole ? [...done, ...this.handlePacket(whole, from, to, this.#now)] : done;
  }

  /** Our message to the peer, in fragments when it is too large for one datagram and the peer takes them. */
  #sendTo(sa: Phase1Sa, packet: Uint8Array): void {
    const cut = sa.peerFragmentation && packet.length > this.options.fragmentSize;
    if (cut) this.#fragmentId = (this.#fragmentId + 1) & 0xffff || 1;
    for (const piece of cut ? fragmentMessage(packet, this.#fragmentId, this.options.fragmentSize) : [packet]) this.#actions.push({ type: 'send', packet: piece, from: sa.local, to: sa.remote });
  }

  /**
   * A proof that failed closes the SA; one waiting for a hard-fail revocation fetch leaves the
   * message unanswered and not remembered, so its retransmission is handled afresh.
   */
  #refuse(sa: Phase1Sa, error: string | { readonly wait: string }): void {
    if (typeof error === 'string') return this.#fail(sa, error);
    this.#unanswered = true;
    this.#drop('revocation-wait', `Main Mode with ${sa.remote.address} held: ${error.wait}`);
  }

  #open(sa: Phase1Sa, iv: Uint8Array, m: Extract<IsakmpMessage, { encrypted: true }>, what: string): Opened | undefined {
    const opened = open(sa, iv, m.header, m.ciphertext);
    if ('error' in opened) {
      this.#drop('undecryptable', `${what} message from ${sa.remote.address} does not decrypt: ${opened.error}`);
      return undefined;
    }
    this.#log('debug', `recv ${what} [${payloadNames(opened.payloads)}] from ${sa.remote.address}`);
    sa.lastHeard = this.#now; // it decrypted to a valid chain: the peer is alive (RFC 3706 §5.4)
    return opened;
  }

  #quickMode(sa: Phase1Sa | undefined, m: IsakmpMessage, from: Endpoint, to: Endpoint): void {
    if (!sa || sa.state !== 'established' || !m.encrypted) {
      // Not remembered: after Aggressive Mode, QM1 can overtake a lost message 3 and comes again.
      this.#unanswered = true;
      return this.#drop('unexpected', `Quick Mode message from ${from.address} without an established ISAKMP SA`);
    }
    const mid = m.header.messageId;
    const qm = sa.quickModes.get(mid);
    const opened = this.#open(sa, qm ? qm.iv : exchangeIv(sa, mid), m, 'Quick Mode');
    if (!opened) return;
    // Behind a NAT the peer may have a new address or port (RFC 3947 §5); believed only once the
    // message's HASH checks out, so a replayed or forged packet cannot move the SA.
    const endpoints = { local: sa.local, remote: sa.remote };
    if (sa.natDetected) { sa.local = to; sa.remote = from; }
    const ctx = this.#context();
    let error: string | undefined;
    if (!qm) {
      error = mid === 0 ? 'message ID 0' : respondQm1(ctx, sa, mid, opened, opened.nextIv, m.header.commit);
    } else {
      const before = qm.iv;
      qm.iv = opened.nextIv;
      if (qm.initiator && qm.state === 'qm1') error = handleQm2(ctx, sa, qm, opened, m.header.commit);
      else if (!qm.initiator && qm.state === 'qm2') error = handleQm3(ctx, sa, qm, opened);
      else error = `unexpected in state ${qm.state}`;
      if (error) qm.iv = before;
    }
    if (error) {
      sa.local = endpoints.local;
      sa.remote = endpoints.remote;
      this.#log('warn', `Quick Mode ${mid.toString(16)} with ${sa.remote.address} failed: ${error} (connection ${sa.connection?.name ?? '?'})`);
    }
  }

  #informational(sa: Phase1Sa | undefined, m: IsakmpMessage): void {
    if (!m.encrypted) {
      // Unauthenticated: believed only while Main Mode is still in its first round trips, as strongSwan does.
      for (const p of m.payloads) {
        if (p.kind !== 'N') continue;
        const name = notifyName(p.notification.type);
        this.#log('warn', `peer notifies ${name}${sa ? ` (${sa.connection?.name ?? ''})` : ''}`);
        if (sa?.initiator && (sa.state === 'mm1' || sa.state === 'mm3') && p.notification.type < 16384) this.#close(sa, `the peer refused Main Mode with ${name}`);
      }
      return;
    }
    if (!sa?.crypto?.keys) return this.#drop('unknown-sa', 'encrypted informational for no keyed SA');
    const opened = this.#open(sa, exchangeIv(sa, m.header.messageId), m, 'Informational');
    if (!opened) return;
    const reason = handleInformational(this.#context(), sa, m.header.messageId, opened);
    const heir = reason === PEER_DELETED_ISAKMP ? handOverOnDelete(this.#context(), sa) : undefined;
    if (heir) this.#actions.push({ type: 'ike-rekeyed', oldSpi: sa.ckyI, spi: heir.ckyI, connection: heir.connection!.name });
    else if (reason === PEER_DELETED_ISAKMP && parkChildren(this.#context(), sa)) return;
    if (reason) this.#close(sa, reason, false);
  }

  /** Aggressive Mode sends a PSK hash an eavesdropper can attack offline: refused (issue 19). */
  /** Aggressive Mode: refused (with the reason) unless the peer's ID names a connection that allows it. */
  #aggressiveMode(sa: Phase1Sa | undefined, m: IsakmpMessage, from: Endpoint, to: Endpoint): void {
    const ctx = this.#context();
    if (!sa) {
      if (m.header.responderCookie !== 0n || m.encrypted) return this.#drop('unknown-sa', `Aggressive Mode message for no known SA from ${from.address}`);
      if (this.#halfOpenFull(from)) return this.#drop('half-open', `Aggressive Mode from ${from.address} dropped: too many half-open ISAKMP SAs`);
      const fresh = respondAm1(ctx, m.header.initiatorCookie, m.payloads, from, to);
      if (fresh) this.#admitted(fresh);
      return;
    }
    sa.lastHeard = this.#now;
    let error: string | undefined;
    if (sa.initiator && sa.state === 'am1' && !m.encrypted) error = handleAm2(ctx, sa, m.header.responderCookie, m.payloads, from, to);
    else if (!sa.initiator && sa.state === 'am2') {
      const opened = m.encrypted ? this.#open(sa, sa.iv, m, 'Aggressive Mode') : { payloads: m.payloads, nextIv: sa.iv };
      if (!opened) return this.#fail(sa, 'Aggressive Mode message 3 does not decrypt to valid payloads: the pre-shared keys differ');
      sa.iv = opened.nextIv;
      error = respondAm3(ctx, sa, opened.payloads, from, to);
    } else return this.#drop('unexpected', `unexpected Aggressive Mode message in state ${sa.state} from ${from.address}`);
    if (error) return this.#fail(sa, error);
    this.#established(ctx, sa);
  }

  /**
   * Message 5 (or 6) that does not decrypt: a wrong pre-shared key, or a damaged or forged packet.
   * The half-open SA stays (a forged packet must not end it): counted, dropped unremembered, and
   * the peer's retransmission tried afresh; after the retransmission budget the SA closes.
   */
  #undecryptable(sa: Phase1Sa): void {
    sa.undecryptable++;
    this.#unanswered = true;
    const n = sa.initiator ? 6 : 5;
    if (sa.undecryptable > this.options.retransmitTries) return this.#fail(sa, `Main Mode message ${n} did not decrypt ${sa.undecryptable} times: the pre-shared keys differ`);
    if (sa.undecryptable === 1) this.#log('warn', `${sa.connection?.name ?? 'IKEv1'} with ${sa.remote.address}: Main Mode message ${n} does not decrypt to valid payloads: the pre-shared keys differ (or the packet was damaged); dropped, waiting for a retransmission`);
  }

  #fail(sa: Phase1Sa, error: string): void {
    this.#log('warn', `${sa.connection?.name ?? 'IKEv1'} with ${sa.remote.address}: ${error}`);
    this.#close(sa, error);
  }

  #add(sa: Phase1Sa): void {
    const key = cookieKey(sa.ckyI);
    const had = this.#sas.get(key);
    if (had && had !== sa) this.#remove(had);
    sa.added = ++this.#added;
    this.#sas.set(key, sa);
    this.#placeAdd(sa, sa.place);
    sa.moved = (moved, before) => {
      this.#placeRemove(moved, before);
      this.#placeAdd(moved, moved.place);
    };
  }

  #remove(sa: Phase1Sa): void {
    this.#sas.delete(cookieKey(sa.ckyI));
    this.#placeRemove(sa, sa.place);
    sa.moved = undefined;
  }

  #placeAdd(sa: Phase1Sa, place: string): void {
    const set = this.#byPlace.get(place);
    if (set) set.add(sa);
    else this.#byPlace.set(place, new Set([sa]));
  }

  #placeRemove(sa: Phase1Sa, place: string): void {
    const set = this.#byPlace.get(place);
    if (!set?.delete(sa)) return;
    if (set.size === 0) this.#byPlace.delete(place);
  }

  #close(sa: Phase1Sa, reason: string, tellPeer = true): void {
    if (sa.state === 'closed') return;
    const wasUp = sa.state === 'established';
    // One delete per informational: strongSwan acts only on the first D payload of a message.
    if (wasUp && tellPeer) for (const d of deletePayloads(sa)) sendInformational(this.#context(), sa, [d]);
    for (const child of sa.children.splice(0)) this.#actions.push({ type: 'delete-child', child });
    for (const spi of [...sa.quickModes.values()].map((q) => q.spi)) this.#spis.delete(spi);
    sa.retransmit = undefined;
    sa.setState('closed', reason);
    this.#remove(sa);
    this.#halfOpen.delete(sa);
    this.#closed.push(sa);
    if (this.#closed.length > 16) this.#closed.shift();
    // A renewal that failed lets the old SA try again later; a replaced SA going is no site going down.
    const old = sa.renewing === undefined ? undefined : this.#sas.get(cookieKey(sa.renewing));
    if (old?.successor === sa.ckyI) {
      old.successor = undefined;
      this.#touched.add(old); // its own renewal is due again
    }
    if (wasUp && sa.replacedBy === undefined) this.#actions.push({ type: 'ike-down', spi: sa.ckyI, connection: sa.connection?.name ?? '', reason });
  }

  /**
   * One context for the engine's life, made on first use (it was a fresh object of closures per
   * call, several per packet: a visible share of the bench's profile). Handlers run synchronously
   * inside one call, and `now` reads that call's time.
   */
  #ctx: Ikev1Context | undefined;

  #context(): Ikev1Context {
    this.#ctx ??= this.#makeContext();
    return this.#ctx;
  }

  #makeContext(): Ikev1Context {
    const engine = this;
    return {
      get now() { return engine.#now; },
      wallClock: () => (this.options.wallClock ?? (() => new Date()))(),
      crypto: this.#crypto,
      options: this.options,
      emit: (action) => this.#actions.push(action),
      log: (level, msg, fields) => this.#log(level, msg, fields),
      send(sa, packet, holder) {
        engine.#sendTo(sa, packet);
        engine.#touched.add(sa);
        engine.#log('debug', `send ${describeOutgoing(packet)} to ${sa.remote.address}:${sa.remote.port}`);
        if (holder) holder.retransmit = { packet, firstSent: engine.#now, sentAt: engine.#now, tries: 1 };
      },
      reply(sa, packet, holder) {
        sa.remember(engine.#inHash, packet);
        if (packet.length) this.send(sa, packet, holder);
      },
      connectionsFor: (remote) => [...this.#connections.filter((c) => c.remoteAddress === remote.address), ...this.#connections.filter((c) => !c.remoteAddress)],
      newSpi: () => {
        for (;;) {
          const spi = Buffer.from(this.#crypto.randomBytes(4)).readUInt32BE();
          if (spi >= 256 && !this.#spis.has(spi)) { this.#spis.add(spi); return spi; }
        }
      },
      close: (sa, reason) => this.#close(sa, reason, false),
      others: (sa) => {
        const others = [...(this.#byPlace.get(sa.place) ?? [])]
          .filter((o) => o !== sa && o.connection === sa.connection && o.remote.address === sa.remote.address && o.state !== 'closed')
          .sort((a, b) => a.added - b.added);
        for (const o of others) this.#touched.add(o); // a handler may retire or replace them
        return others;
      },
    };
  }

  #begin(now: number): void {
    this.#now = now;
    this.#actions = [];
    this.#inHash = '';
  }

  #end(): IkeAction[] {
    for (const sa of this.#touched) this.#wake(sa);
    this.#touched.clear();
    const out = this.#actions;
    this.#actions = [];
    return out;
  }

  #drop(reason: string, msg: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.#log('debug', msg);
  }

  #log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.#actions.push({ type: 'log', level, msg, ...(fields ? { fields } : {}) });
  }
}
