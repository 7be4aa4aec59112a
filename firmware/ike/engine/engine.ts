import { LogLevel } from '../../log/logger.ts';
import { decodeIkeMessage, encodeIkeMessage, type IkeMessage, type IkePayload } from '../message.ts';
import { openProtectedMessage, encodeProtectedMessage } from '../protection.ts';
import { encodeFragments } from '../fragmentation.ts';
import { ExchangeType, NotifyType, PayloadType, TransformType } from '../registry/numbers.ts';
import { certRequest } from './authenticators.ts';
import { CookieGuard } from './cookies.ts';
import type { ProposalSpec } from '../proposals.ts';
import { defaultEngineOptions, type EngineContext, type EngineOptions } from './context.ts';
import { answerAuth, processAuthResponse, startAuth } from './ike-auth.ts';
import { resumeEapServer } from './eap-rounds.ts';
import { answerInit, completeKeys, processInitResponse, startInit } from './ike-init.ts';
import { IkeSa, type PendingRequest } from './ike-sa.ts';
import { answerInformational, processInformationalResponse, startDeleteIke, startLivenessCheck } from './informational.ts';
import { answerCreateChild, processCreateChildResponse, startCreateChild, startRekeyIke } from './create-child.ts';
import { emitMove, startAddressUpdate } from './mobike.ts';
import { describe } from './payload-helpers.ts';
import { ikev1Refusal, isIkev1 } from './ikev1-refusal.ts';
import type { Endpoint, IkeAction, IkeConnection, IkeCryptoProvider } from './types.ts';
import { Wakeups } from '../../util/wakeups.ts';

const EMPTY = new Uint8Array(0);
function ownBuffer(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  own.set(bytes);
  return own;
}
/** The identity index's key: one flat string (join), a connection's name and the peer's ID. */
const identityKey = (connection: string, remoteId: string): string => [connection, remoteId].join('\0');
const EXCHANGE_NAMES: Record<number, string> = { 34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL' };

/** What went wrong with packets that were dropped, by reason: read by status pages and tests. */
export type DropCounters = Record<string, number>;

/**
 * The IKEv2 engine: all IKE SAs of this gateway. Sans-I/O (STYLE.md rule 1): packets and time come
 * in through `handlePacket`, `initiate` and `tick`; everything it wants done comes back as actions.
 */
export class IkeEngine {
  #connections: IkeConnection[];
  #byName: Map<string, IkeConnection>;
  readonly #crypto: IkeCryptoProvider;
  readonly #options: EngineOptions;
  /** By our own SPI: SPIi for SAs we initiated, SPIr for those we answered. */
  readonly #sas = new Map<bigint, IkeSa>();
  /**
   * SAs by initiator SPI, the name the shell, management and RADIUS use (issue 23: the public
   * operations looked through every SA). Usually one each; a peer may pick an SPI another peer
   * (or we) picked, so several are kept in the order they came, as a look through #sas met them.
   */
  readonly #byInitiatorSpi = new Map<bigint, IkeSa | IkeSa[]>();
  /** SAs whose IKE_AUTH waits for an EAP verdict (RADIUS), so `resumeEap` looks at them only. */
  readonly #eapWaiting = new Set<IkeSa>();
  /** A reauthentication's new SA by the old SA's initiator SPI, so the old one's close finds it. */
  readonly #reauths = new Map<bigint, IkeSa>();
  /** Half-open responder SAs by the initiator's SPI and address, to answer retransmitted IKE_SA_INIT. */
  readonly #halfOpen = new Map<string, IkeSa>();
  /** Each half-open SA's key in #halfOpen, so forgetting one does not look through them all. */
  readonly #halfOpenKeys = new Map<IkeSa, string>();
  /**
   * SAs by connection name and the peer's authenticated ID, for uniqueness and INITIAL_CONTACT:
   * looking through every SA at each IKE_AUTH made setups quadratic at thousands of SAs (issue 23),
   * and the connection in the key keeps it so where thousands of initiators all name one gateway.
   * Each group is an exact-size array (most peers have one SA; a Map and Set per peer cost about
   * 0.3 KB). Each SA joins once established (`#settle`, `adopt`; its ID and connection are fixed by
   * then) and leaves when it closes; callers still check its state and connection object.
   */
  readonly #byIdentity = new Map<string, readonly IkeSa[]>();
  /** How many indexed SAs each connection name has: a lease's other holders are looked for under each. */
  readonly #indexedNames = new Map<string, number>();
  /**
   * Every SA's next deadline (retransmission, half-open expiry, liveness check, rekey, session end):
   * `nextTimeout` and `tick` read the earliest instead of looking through every SA (issue 23). An SA
   * the engine worked on is marked touched and its deadline worked out again at `#flush`.
   */
  readonly #timers = new Wakeups<IkeSa>();
  readonly #touched = new Set<IkeSa>();
  /** Set when the request being handled was held unanswered (holdRequest). */
  #held = false;
  readonly #childSpis = new Set<number>();
  readonly drops: DropCounters = {};
  readonly #cookies: CookieGuard;
  /** When each IKEv1 source was last answered (bounded; cleared when full). */
  readonly #ikev1Seen = new Map<string, number>();
  #actions: IkeAction[] = [];
  #now = 0;
  readonly #ctx: EngineContext;
  readonly #minLogLevel: number;

  constructor(connections: readonly IkeConnection[], crypto: IkeCryptoProvider, options: Partial<EngineOptions> = {}) {
    this.#connections = [...connections];
    this.#byName = new Map(this.#connections.map((c) => [c.name, c]));
    this.#crypto = crypto;
    this.#options = { ...defaultEngineOptions, ...options };
    this.#cookies = new CookieGuard(this.#options.cookies, (n) => crypto.randomBytes(n));
    this.#ctx = this.#makeContext();
    this.#minLogLevel = LogLevel[this.#options.logLevel ?? 'debug'];
  }

  /**
   * New connections for what starts from now on (a renewed gateway certificate, issue 16): each IKE
   * SA keeps the connection it was authenticated with, so SAs up or half-open run on unchanged, and
   * a later IKE_AUTH, initiation or reauthentication takes the new one.
   */
  replaceConnections(connections: readonly IkeConnection[]): void {
    this.#connections = [...connections];
    this.#byName = new Map(this.#connections.map((c) => [c.name, c]));
  }

  /** Responder SAs still waiting for their IKE_AUTH. */
  get halfOpenCount(): number {
    return this.#halfOpen.size;
  }

  get sas(): readonly IkeSa[] {
    return [...this.#sas.values()];
  }

  /** The first SA (in the order they came) under this initiator SPI that `which` accepts; not closed ones. */
  findSa(spiI: bigint, which: (sa: IkeSa) => boolean = () => true): IkeSa | undefined {
    const found = this.#byInitiatorSpi.get(spiI);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return which(found) ? found : undefined;
    return found.find(which);
  }

  #add(sa: IkeSa): void {
    this.#sas.set(sa.mySpi, sa);
    const found = this.#byInitiatorSpi.get(sa.spiI);
    if (found === undefined) this.#byInitiatorSpi.set(sa.spiI, sa);
    else if (Array.isArray(found)) found.push(sa);
    else this.#byInitiatorSpi.set(sa.spiI, [found, sa]);
  }

  #remove(sa: IkeSa): void {
    this.#sas.delete(sa.mySpi);
    this.#eapWaiting.delete(sa);
    const found = this.#byInitiatorSpi.get(sa.spiI);
    if (found === sa) this.#byInitiatorSpi.delete(sa.spiI);
    else if (Array.isArray(found)) {
      const rest = found.filter((o) => o !== sa);
      this.#byInitiatorSpi.set(sa.spiI, rest.length === 1 ? rest[0]! : rest);
    }
    // A reauthentication's record goes with either end: the old SA closing (its successor was read
    // before), or the new one failing first.
    if (sa.initiator) this.#reauths.delete(sa.spiI);
    if (sa.reauthOf !== undefined && this.#reauths.get(sa.reauthOf) === sa) this.#reauths.delete(sa.reauthOf);
  }

  /** A packet received on UDP 500, or on 4500 with the non-ESP marker already removed. */
  handlePacket(packet: Uint8Array, from: Endpoint, to: Endpoint, now: number): IkeAction[] {
    this.#now = now;
    if (isIkev1(packet)) {
      this.#refuseIkev1(packet, from, to);
      return this.#flush();
    }
    const decoded = decodeIkeMessage(packet);
    if (!decoded.ok) {
      this.#drop('malformed', { from: `${from.address}:${from.port}`, error: decoded.error.message });
      return this.#flush();
    }
    const message = decoded.value;
    const { header } = message;
    if (header.exchangeType === ExchangeType.IKE_SA_INIT && !header.response && header.responderSpi === 0n) {
      this.#answerInit(message, packet.subarray(0, header.length), from, to);
      return this.#flush();
    }
    const mySpi = header.initiator ? header.responderSpi : header.initiatorSpi;
    const sa = this.#sas.get(mySpi);
    if (!sa || sa.state === 'closed' || (sa.initiator && header.initiator) || (!sa.initiator && !header.initiator)) {
      this.#drop('unknown-spi', { spi: mySpi.toString(16) });
      return this.#flush();
    }
    this.#touched.add(sa);
    if (header.response) this.#onResponse(sa, message, packet.subarray(0, header.length), from, to);
    else this.#onRequest(sa, message, packet.subarray(0, header.length), from, to);
    return this.#flush();
  }

  /** Starts the named connection (site-to-site initiator). */
  /** `remote`: the address to dial when the connection names its peer by DNS (the shell resolved it, issue 24). */
  initiate(name: string, local: Endpoint, now: number, remote?: string): IkeAction[] {
    this.#now = now;
    this.#start(name, local, remote);
    return this.#flush();
  }

  #start(name: string, local: Endpoint, remote?: string): IkeSa | undefined {
    const conn = this.#byName.get(name);
    const address = remote ?? conn?.remoteAddress;
    if (!conn || !address) throw new Error(`no connection '${name}' with a remote address`);
    const sa = new IkeSa(true, this.#newIkeSpi(), local, { address, port: 500 }, this.#now, 'init-sent');
    sa.connection = conn;
    this.#add(sa);
    this.#touched.add(sa);
    const group = conn.ikeProposals[0]?.get(TransformType.DH)?.[0]?.id ?? 0;
    if (!startInit(this.#ctx, sa, conn.ikeProposals, group)) this.#close(sa, `DH group ${group} is not implemented`);
    return sa;
  }

  /**
   * Reauthentication (RFC 7296 §2.8.3), make before break: a whole new IKE SA with fresh
   * authentication and children, and the old one deleted once the new one is up.
   */
  reauthenticate(ikeSpi: bigint, now: number): IkeAction[] {
    this.#now = now;
    const old = this.findSa(ikeSpi, (s) => s.initiator && s.state === 'established' && s.connection?.remoteAddress !== undefined);
    if (old) {
      // To the address the old SA runs to: the connection may name its peer by DNS.
      const fresh = this.#start(old.connection!.name, { address: old.local.address, port: 500 }, old.remote.address);
      if (fresh) {
        fresh.reauthOf = old.spiI;
        if (fresh.state !== 'closed') this.#reauths.set(old.spiI, fresh);
      }
      this.#log('info', `reauthenticating IKE SA ${old.spiI.toString(16)}`, { connection: old.connection?.name });
    }
    return this.#flush();
  }

  /** Deletes an IKE SA and its children with the peer (§1.4.1). */
  terminate(spi: bigint, now: number): IkeAction[] {
    this.#now = now;
    const sa = this.findSa(spi);
    if (sa?.state === 'established') startDeleteIke(this.#ctx, sa);
    else if (sa) this.#close(sa, 'terminated locally');
    return this.#flush();
  }

  /**
   * A RADIUS CoA's Session-Timeout (RFC 5176, issue 21): the IKE SA (under its current SPI) is deleted
   * `seconds` from now, replacing the Access-Accept's limit; false when no such established SA.
   */
  setSessionTimeout(spi: bigint, seconds: number, now: number): boolean {
    const sa = this.findSa(spi, (s) => s.state === 'established' && s.rekeyedTo === undefined);
    if (!sa) return false;
    sa.sessionEnds = { at: now + seconds * 1000, reason: `session timeout (RADIUS CoA Session-Timeout ${seconds} s)` };
    this.#wake(sa);
    return true;
  }

  /**
   * EAP verdicts that came later (RADIUS, issue 21): each held IKE_AUTH request whose verdict is in
   * is answered now, instead of at the peer's next retransmission.
   */
  resumeEap(now: number): IkeAction[] {
    this.#now = now;
    const ctx = this.#ctx;
    for (const sa of [...this.#eapWaiting]) {
      const messageId = sa.eap.heldMessageId;
      if (sa.state !== 'eap' || messageId === undefined) {
        this.#eapWaiting.delete(sa); // answered or gone since
        continue;
      }
      if (messageId !== sa.nextPeerRequestId) continue;
      const step = sa.eap.server?.resume();
      if (!step || step.status === 'pending') continue;
      this.#eapWaiting.delete(sa);
      sa.nextPeerRequestId++; // the held request is answered now, as if it had just come
      this.#touched.add(sa);
      resumeEapServer(ctx, sa, messageId, step);
      this.#settle(sa);
    }
    return this.#flush();
  }

  /** Retransmissions, liveness checks and half-open expiry due at `now`. */
  tick(now: number): IkeAction[] {
    this.#now = now;
    const ctx = this.#ctx;
    for (const sa of this.#timers.takeDue(now)) {
      if (sa.state === 'closed') continue; // closed by an earlier one's work (a replaced duplicate)
      this.#touched.add(sa);
      this.#tickSa(ctx, sa, now);
    }
    return this.#flush();
  }

  #tickSa(ctx: EngineContext, sa: IkeSa, now: number): void {
    const p = sa.pending;
    if (p && now >= p.sentAt + this.#retransmitDelay(p.tries)) {
      if (p.tries >= this.#options.retransmitTries) {
        this.#close(sa, p.purpose === 'delete-ike' && sa.deleteReason ? sa.deleteReason : `no answer to ${EXCHANGE_NAMES[p.exchange]} request ${p.messageId} after ${p.tries + 1} tries`);
        return;
      }
      p.tries++;
      p.sentAt = now;
      this.#log('info', `retransmit ${p.tries} of ${EXCHANGE_NAMES[p.exchange]} request ${p.messageId}`, { spi: sa.spiI.toString(16) });
      this.#emitSend(sa, p.packets);
    } else if (!sa.initiator && (sa.state === 'init-done' || sa.state === 'eap') && now - sa.lastHeard >= this.#options.halfOpenTimeoutMs) {
      this.#close(sa, `half-open SA timed out waiting for ${sa.state === 'eap' ? 'the EAP client' : 'IKE_AUTH'}`);
    } else if (sa.state === 'established' && !sa.pending && sa.connection && sa.connection.dpdSeconds > 0 && now - sa.lastHeard >= sa.connection.dpdSeconds * 1000) {
      startLivenessCheck(ctx, sa);
    }
    if (sa.state === 'established' && sa.rekeyedTo === undefined && sa.sessionEnds && now >= sa.sessionEnds.at && !sa.pending) startDeleteIke(ctx, sa, sa.sessionEnds.reason);
    else if (sa.state === 'established' && sa.rekeyedTo === undefined && !sa.creating) this.#rekeyDue(ctx, sa, now);
  }

  /** When `tick` next has something to do, or undefined when nothing is scheduled (possibly a little early). */
  nextTimeout(): number | undefined {
    return this.#timers.next();
  }

  /** The SA's next deadline: each thing `#tickSa` does, when it would be due. */
  #dueOf(sa: IkeSa): number | undefined {
    let next = Infinity;
    if (sa.pending) next = sa.pending.sentAt + this.#retransmitDelay(sa.pending.tries);
    else if (!sa.initiator && (sa.state === 'init-done' || sa.state === 'eap')) next = sa.lastHeard + this.#options.halfOpenTimeoutMs;
    else if (sa.state === 'established' && sa.connection && sa.connection.dpdSeconds > 0) next = sa.lastHeard + sa.connection.dpdSeconds * 1000;
    if (sa.state === 'established' && sa.rekeyedTo === undefined && sa.sessionEnds) next = Math.min(next, sa.sessionEnds.at);
    if (sa.state === 'established' && sa.rekeyedTo === undefined && !sa.creating) {
      next = Math.min(next, this.#ikeRekeyAt(sa) ?? Infinity);
      for (const c of sa.children) next = Math.min(next, this.#childRekeyAt(sa, c.inbound.spi) ?? Infinity);
    }
    return next === Infinity ? undefined : next;
  }

  /** After the engine worked on an SA: its next deadline scheduled (a later one waits, util/wakeups.ts). */
  #wake(sa: IkeSa): void {
    if (sa.state !== 'closed') this.#timers.schedule(sa, this.#dueOf(sa));
  }

  /** Starts the rekey that is due first, if any (one CREATE_CHILD_SA at a time per IKE SA). */
  #rekeyDue(ctx: EngineContext, sa: IkeSa, now: number): void {
    const ikeAt = this.#ikeRekeyAt(sa);
    if (ikeAt !== undefined && now >= ikeAt) return startRekeyIke(ctx, sa);
    const child = sa.children.find((c) => now >= (this.#childRekeyAt(sa, c.inbound.spi) ?? Infinity));
    if (child) startCreateChild(ctx, sa, child);
  }

  #ikeRekeyAt(sa: IkeSa): number | undefined {
    const s = sa.connection?.ikeRekeySeconds;
    return s ? sa.establishedAt + s * 1000 : undefined;
  }

  #childRekeyAt(sa: IkeSa, spi: number): number | undefined {
    const s = sa.connection?.rekeySeconds;
    const born = sa.childBorn.get(spi);
    return s && born !== undefined ? born + s * 1000 : undefined;
  }

  /** Rekeys a child SA now (named by our inbound SPI), as the rekey timer would. */
  rekeyChild(ikeSpi: bigint, inboundSpi: number, now: number): IkeAction[] {
    this.#now = now;
    const sa = this.findSa(ikeSpi);
    const child = sa?.children.find((c) => c.inbound.spi === inboundSpi);
    if (sa && child) startCreateChild(this.#ctx, sa, child);
    return this.#flush();
  }

  /** Another child SA for the connection's selectors on an established IKE SA (§1.3.1). */
  createChild(ikeSpi: bigint, now: number): IkeAction[] {
    this.#now = now;
    const sa = this.findSa(ikeSpi, (s) => s.rekeyedTo === undefined);
    if (sa) startCreateChild(this.#ctx, sa);
    return this.#flush();
  }

  /** Rekeys an IKE SA now. */
  rekeyIke(ikeSpi: bigint, now: number): IkeAction[] {
    this.#now = now;
    const sa = this.findSa(ikeSpi, (s) => s.rekeyedTo === undefined);
    if (sa) startRekeyIke(this.#ctx, sa);
    return this.#flush();
  }

  #retransmitDelay(tries: number): number {
    return this.#options.retransmitBaseMs * 2 ** tries;
  }

  #answerInit(message: IkeMessage, raw: Uint8Array, from: Endpoint, to: Endpoint): void {
    const key = `${message.header.initiatorSpi}/${from.address}/${from.port}`;
    const existing = this.#halfOpen.get(key);
    if (existing) {
      // A retransmitted first message: the same answer again (§2.1), no new state.
      if (existing.lastResponse) this.#emitSend(existing, existing.lastResponse.packets);
      return;
    }
    if (!this.#admit(message, from, to)) return;
    if (this.#logs('debug')) this.#log('debug', describe('IKE_SA_INIT', false, 0, message.payloads), { from: `${from.address}:${from.port}` });
    const sa = new IkeSa(false, message.header.initiatorSpi, to, from, this.#now, 'init-done');
    sa.spiR = this.#newIkeSpi();
    sa.nextPeerRequestId = 1;
    const answer = answerInit(this.#ctx, sa, message.payloads, raw, this.#responderProposals(), this.#certRequests());
    if (!answer.ok) {
      this.#log('warn', `IKE_SA_INIT refused: ${answer.reason}`, { from: `${from.address}:${from.port}` });
      if (answer.reply) {
        const packet = encodeIkeMessage({ initiatorSpi: message.header.initiatorSpi, responderSpi: 0n, exchangeType: ExchangeType.IKE_SA_INIT, initiator: false, response: true, higherVersion: false, messageId: 0 }, answer.reply);
        this.#actions.push({ type: 'send', packet, from: to, to: from });
      }
      return;
    }
    this.#add(sa);
    this.#halfOpen.set(key, sa);
    this.#halfOpenKeys.set(sa, key);
    this.#touched.add(sa);
  }

  /**
   * §2.6 under load: a hard cap on half-open SAs, and a COOKIE round trip before any state is kept
   * when many SAs are half-open or this source sends faster than its rate. A request that carries a
   * valid cookie passes the rate: a forger cannot see the cookie, so forged requests in a victim's
   * name (or from behind its NAT) cannot starve the victim. False when the request goes no further.
   */
  #admit(message: IkeMessage, from: Endpoint, to: Endpoint): boolean {
    const guard = this.#cookies;
    const halfOpen = this.#halfOpen.size;
    const spiI = message.header.initiatorSpi;
    const ni = message.payloads.find((p) => p.kind === 'Nonce');
    const nonce = ni?.kind === 'Nonce' ? ni.nonce : new Uint8Array();
    const first = message.payloads[0];
    const cookieOk = first?.kind === 'N' && first.notify.type === NotifyType.COOKIE && guard.check(first.notify.data, nonce, from, spiI, this.#now);
    const overRate = !cookieOk && !guard.allow(from, this.#now);
    if (halfOpen >= guard.options.halfOpenLimit) {
      this.#drop('half-open-limit', { halfOpen });
      return false;
    }
    if (cookieOk || (!overRate && halfOpen < guard.options.threshold)) return true;
    const cookie = guard.make(nonce, from, spiI, this.#now);
    const packet = encodeIkeMessage({ initiatorSpi: spiI, responderSpi: 0n, exchangeType: ExchangeType.IKE_SA_INIT, initiator: false, response: true, higherVersion: false, messageId: 0 }, [{ kind: 'N', notify: { protocolId: 0, type: NotifyType.COOKIE, spi: new Uint8Array(), data: cookie } }]);
    this.#actions.push({ type: 'send', packet, from: to, to: from });
    this.#drop(overRate ? 'rate-limited' : 'cookie-requested', { from: from.address, halfOpen });
    return false;
  }

  /** An IKEv1 peer: one warn line per source a minute, and a quick NO-PROPOSAL-CHOSEN (rate-limited too). */
  #refuseIkev1(packet: Uint8Array, from: Endpoint, to: Endpoint): void {
    this.#drop('ikev1', { from: `${from.address}:${from.port}` });
    const seen = this.#ikev1Seen.get(from.address);
    if (seen !== undefined && this.#now - seen < 60_000) return;
    if (this.#ikev1Seen.size >= 1024) this.#ikev1Seen.clear();
    this.#ikev1Seen.set(from.address, this.#now);
    const reply = ikev1Refusal(packet, (n) => this.#crypto.randomBytes(n));
    this.#log('warn', `IKEv1 request from ${from.address}:${from.port} refused: this gateway speaks IKEv2 only${reply ? ' (answered NO-PROPOSAL-CHOSEN)' : ''}`, { from: from.address });
    if (reply) this.#actions.push({ type: 'send', packet: reply, from: to, to: from });
  }

  #onRequest(sa: IkeSa, message: IkeMessage, raw: Uint8Array, from: Endpoint, to: Endpoint): void {
    const { messageId, exchangeType } = message.header;
    if (sa.lastResponse && messageId === sa.lastResponse.messageId) {
      this.#emitSend(sa, sa.lastResponse.packets); // §2.1: a retransmitted request gets the same response
      return;
    }
    if (messageId !== sa.nextPeerRequestId) return this.#drop('message-id', { expected: sa.nextPeerRequestId, got: messageId });
    const payloads = this.#open(sa, message, raw);
    if (!payloads || payloads === 'wait') return;
    const opened = { payloads };
    this.#heard(sa, from, to, opened.payloads);
    sa.nextPeerRequestId++;
    if (this.#logs('debug')) this.#log('debug', `received ${describe(EXCHANGE_NAMES[exchangeType] ?? String(exchangeType), false, messageId, opened.payloads)}`, { spi: sa.spiI.toString(16) });
    const ctx = this.#ctx;
    if (exchangeType === ExchangeType.IKE_AUTH && !sa.initiator && (sa.state === 'init-done' || sa.state === 'eap')) {
      this.#held = false;
      answerAuth(ctx, sa, messageId, opened.payloads);
      if (!this.#held) this.#forgetHalfOpen(sa); // established or closed: no longer half-open
    }
    else if (exchangeType === ExchangeType.INFORMATIONAL && sa.state !== 'init-done') answerInformational(ctx, sa, messageId, opened.payloads);
    else if (exchangeType === ExchangeType.CREATE_CHILD_SA && sa.state === 'established') answerCreateChild(ctx, sa, messageId, opened.payloads);
    else this.#drop('unexpected-exchange', { exchange: EXCHANGE_NAMES[exchangeType], state: sa.state });
    this.#settle(sa);
  }

  #onResponse(sa: IkeSa, message: IkeMessage, raw: Uint8Array, from: Endpoint, to: Endpoint): void {
    const pending = sa.pending;
    const { messageId, exchangeType } = message.header;
    if (!pending || pending.messageId !== messageId || pending.exchange !== exchangeType) return this.#drop('unexpected-response', { messageId });
    let payloads: IkePayload[];
    if (exchangeType === ExchangeType.IKE_SA_INIT) payloads = [...message.payloads];
    else {
      const opened = this.#open(sa, message, raw);
      if (!opened || opened === 'wait') return;
      payloads = opened;
    }
    this.#heard(sa, from, to, payloads);
    sa.pending = undefined;
    if (this.#logs('debug')) this.#log('debug', `received ${describe(EXCHANGE_NAMES[exchangeType] ?? String(exchangeType), true, messageId, payloads)}`, { spi: sa.spiI.toString(16) });
    this.#dispatchResponse(sa, pending.purpose, message.header.responderSpi, payloads, raw);
    this.#settle(sa);
    if (sa.state !== 'closed' && !sa.pending) this.#sendQueued(sa);
  }

  #dispatchResponse(sa: IkeSa, purpose: PendingRequest['purpose'], spiR: bigint, payloads: IkePayload[], raw: Uint8Array): void {
    const ctx = this.#ctx;
    const conn = sa.connection!;
    if (purpose === 'ike-init') {
      const outcome = processInitResponse(ctx, sa, spiR, payloads, raw, conn.ikeProposals);
      if (outcome.next === 'fail') return this.#close(sa, outcome.reason);
      if (outcome.next === 'retry') {
        sa.nextRequestId = 0;
        return void startInit(ctx, sa, conn.ikeProposals, outcome.group ?? sa.dh?.group ?? 0);
      }
      sa.setState('init-done', 'IKE_SA_INIT response');
      return startAuth(ctx, sa, conn);
    }
    if (purpose === 'ike-auth') return processAuthResponse(ctx, sa, payloads);
    if (purpose === 'create-child' || purpose === 'rekey-ike') return processCreateChildResponse(ctx, sa, payloads);
    processInformationalResponse(ctx, sa, purpose, payloads);
  }

  /**
   * §2.23: a responder follows the initiator to a new address or port (the move to 4500, a NAT
   * rebinding, or with MOBIKE an UPDATE_SA_ADDRESSES); the initiator decides (RFC 4555 §3.1).
   */
  #heard(sa: IkeSa, from: Endpoint, to: Endpoint, payloads: readonly IkePayload[]): void {
    sa.lastHeard = this.#now;
    if (sa.initiator || (from.address === sa.remote.address && from.port === sa.remote.port && to.port === sa.local.port)) return;
    const mobikeUpdate = payloads.some((p) => p.kind === 'N' && p.notify.type === NotifyType.UPDATE_SA_ADDRESSES);
    // Established without a NAT, only MOBIKE may move the SA: anything else could be a replayed packet.
    if (sa.state === 'established' && !sa.natRemote && !(sa.mobike && mobikeUpdate)) return;
    sa.remote = from;
    sa.local = to;
    if (sa.state === 'established' && !mobikeUpdate) emitMove(this.#ctx, sa); // a NAT rebinding
  }

  /** MOBIKE initiator: our address changed; move the SA and its children there (RFC 4555 §3.5). */
  moveLocal(ikeSpi: bigint, local: Endpoint, now: number): IkeAction[] {
    this.#now = now;
    const sa = this.sas.find((s) => s.spiI === ikeSpi && s.initiator && s.mobike && s.state === 'established');
    if (sa) startAddressUpdate(this.#ctx, sa, local);
    return this.#flush();
  }

  /** What the exchanges may ask of the engine: made once (a message used to build it, closures and all, several times). */
  #makeContext(): EngineContext {
    const engine = this; // for the getter: `now` is the clock of the message being handled
    return {
      get now() {
        return engine.#now;
      },
      crypto: this.#crypto,
      options: this.#options,
      addresses: this.#options.addresses,
      users: this.#options.users,
      mschapv2: this.#options.mschapv2,
      eapRadius: this.#options.eapRadius,
      onEapVerdict: this.#options.onEapVerdict,
      wallClock: () => (this.#options.wallClock ?? (() => new Date()))(),
      emit: (action) => this.#actions.push(action),
      log: (level, msg, fields) => this.#log(level, msg, fields),
      sendRequest: (sa, exchange, payloads, purpose) => this.#sendRequest(sa, exchange, payloads, purpose),
      sendResponse: (sa, exchange, messageId, payloads) => this.#respondProtected(sa, exchange, messageId, payloads),
      allocateChildSpi: () => this.#newChildSpi(),
      newIkeSpi: () => this.#newIkeSpi(),
      adopt: (sa) => {
        this.#add(sa);
        this.#index(sa);
        this.#touched.add(sa);
      },
      connectionFor: (remoteId, remote) => this.#connectionFor(remoteId, remote),
      close: (sa, reason) => this.#close(sa, reason),
      holdRequest: (sa) => {
        if (sa.eap.heldMessageId !== undefined) this.#eapWaiting.add(sa);
        sa.nextPeerRequestId--;
        this.#held = true;
      },
      retire: (spiI, why) => {
        const old = this.findSa(spiI, (s) => s.state === 'established');
        if (!old) return;
        this.#log('info', `deleting the old IKE SA ${spiI.toString(16)}: ${why}`, { connection: old.connection?.name });
        old.rekeyedTo = spiI; // its close is not the connection going down
        this.#touched.add(old);
        startDeleteIke(this.#ctx, old);
      },
      replace: (old, why) => {
        this.#log('info', `deleting IKE SA ${old.spiI.toString(16)}: ${why}`, { connection: old.connection?.name, remoteId: old.remoteId });
        startDeleteIke(this.#ctx, old);
        this.#close(old, why);
      },
      sameIdentity: (sa) => {
        // Established already (a responder replacing duplicates): in the index before they close, so
        // their leases' release sees this SA holding the address too.
        if (sa.state === 'established') this.#index(sa);
        const same = this.#byIdentity.get(identityKey(sa.connection?.name ?? '', sa.remoteId)) ?? [];
        return same.filter((o) => o !== sa && o.connection === sa.connection && o.state === 'established' && o.rekeyedTo === undefined);
      },
    };
  }

  #sendRequest(sa: IkeSa, exchange: number, payloads: IkePayload[], purpose: PendingRequest['purpose']): void {
    if (sa.pending) {
      sa.queued.push({ exchange, payloads, purpose });
      return;
    }
    const messageId = sa.nextRequestId++;
    const packets = this.#encode(sa, exchange, false, messageId, payloads);
    if (exchange === ExchangeType.IKE_SA_INIT) sa.initRequest = packets[0]!;
    sa.pending = { messageId, exchange, packets, firstSent: this.#now, sentAt: this.#now, tries: 0, purpose };
    this.#touched.add(sa);
    if (this.#logs('debug')) this.#log('debug', `sending ${describe(EXCHANGE_NAMES[exchange] ?? String(exchange), false, messageId, payloads)}`, { spi: sa.spiI.toString(16), to: `${sa.remote.address}:${sa.remote.port}` });
    this.#emitSend(sa, packets);
  }

  #sendQueued(sa: IkeSa): void {
    const next = sa.queued.shift();
    if (next) this.#sendRequest(sa, next.exchange, next.payloads, next.purpose);
  }

  #respondProtected(sa: IkeSa, exchange: number, messageId: number, payloads: IkePayload[]): void {
    // Kept for the SA's life (resent on a retransmitted request): each in a buffer of its own, not a
    // slice of Node's shared 8 KB pool that it would keep whole (issue 23).
    const packets = this.#encode(sa, exchange, true, messageId, payloads).map(ownBuffer);
    if (exchange === ExchangeType.IKE_SA_INIT) sa.initResponse = packets[0]!;
    sa.lastResponse = { messageId, packets };
    if (this.#logs('debug')) this.#log('debug', `sending ${describe(EXCHANGE_NAMES[exchange] ?? String(exchange), true, messageId, payloads)}`, { spi: sa.spiI.toString(16), to: `${sa.remote.address}:${sa.remote.port}` });
    this.#emitSend(sa, packets);
  }

  /** The message as sent: IKE_SA_INIT in clear, the rest protected, fragmented when too big (RFC 7383 §2.5). */
  #encode(sa: IkeSa, exchange: number, response: boolean, messageId: number, payloads: IkePayload[]): Uint8Array[] {
    const header = { initiatorSpi: sa.spiI, responderSpi: sa.spiR, exchangeType: exchange, initiator: sa.initiator, response, higherVersion: false, messageId };
    if (exchange === ExchangeType.IKE_SA_INIT) return [encodeIkeMessage(header, payloads)];
    const keys = sa.outboundKeys();
    const whole = encodeProtectedMessage(header, payloads, keys, this.#crypto.randomBytes(keys.suite.encr.ivLength));
    if (!sa.fragmentation || whole.length <= this.#options.fragmentSize) return [whole];
    return encodeFragments(header, payloads, keys, this.#options.fragmentSize, (n) => this.#crypto.randomBytes(n));
  }

  #emitSend(sa: IkeSa, packets: readonly Uint8Array[]): void {
    for (const packet of packets) this.#actions.push({ type: 'send', packet, from: sa.local, to: sa.remote });
  }

  /** The payloads inside a protected message: SK at once, SKF once every fragment is in (§2.6). */
  #open(sa: IkeSa, message: IkeMessage, raw: Uint8Array): IkePayload[] | 'wait' | undefined {
    const failed = sa.keysToDerive && completeKeys(this.#ctx, sa);
    if (failed) {
      this.#close(sa, failed);
      return undefined;
    }
    const first = message.payloads[0];
    if (first?.kind === 'encrypted' && first.type === PayloadType.SKF) {
      const r = sa.fragmentation ? sa.reassembler.add(raw, message, sa.inboundKeys()) : { status: 'rejected' as const, reason: 'fragmentation was not negotiated' };
      if (r.status === 'complete') return r.payloads;
      if (r.status === 'rejected') this.#drop('fragment-rejected', { spi: sa.spiI.toString(16), reason: r.reason });
      return r.status === 'incomplete' ? 'wait' : undefined;
    }
    const opened = openProtectedMessage(raw, message, sa.inboundKeys());
    if (opened.ok) return opened.payloads;
    this.#drop(`decrypt-${opened.reason}`, { spi: sa.spiI.toString(16), exchange: EXCHANGE_NAMES[message.header.exchangeType] });
    return undefined;
  }

  #connectionFor(remoteId: string, remote: Endpoint): IkeConnection | undefined {
    return this.#connections.find((c) => (c.remoteId ? c.remoteId === remoteId : c.remoteAddress === remote.address || c.remoteAddress === undefined));
  }

  /** CERTREQs for the IKE_SA_INIT response: every CA some connection trusts for its peers. */
  #certRequests(): IkePayload[] {
    const requests = this.#connections.flatMap((c) => certRequest(c));
    const authorities = requests.flatMap((r) => (r.kind === 'CERTREQ' ? r.certreq.authorities : []));
    return authorities.length ? [{ kind: 'CERTREQ', certreq: { encoding: 4, authorities } }] : [];
  }

  #responderProposals(): ProposalSpec[] {
    return this.#connections.flatMap((c) => c.ikeProposals);
  }

  #close(sa: IkeSa, reason: string): void {
    if (sa.state === 'closed') return;
    const wasUp = sa.state === 'established' || sa.state === 'deleting';
    // Deleted while our reauthentication's SA is up (the peer replaced it first): not a connection going down.
    // Only SAs we initiated are reauthenticated by us, so only they can have a successor.
    const fresh = sa.initiator ? this.#reauths.get(sa.spiI) : undefined;
    const successor = fresh !== sa && fresh?.state === 'established' ? fresh : undefined;
    if (successor && sa.rekeyedTo === undefined) sa.rekeyedTo = successor.spiI;
    for (const child of [...sa.children.splice(0), ...sa.childrenDeleting.splice(0)]) {
      this.#actions.push({ type: 'delete-child', child });
    }
    sa.setState('closed', reason);
    sa.pending = undefined;
    sa.queued.length = 0;
    this.#remove(sa);
    this.#forgetHalfOpen(sa);
    this.#unindex(sa);
    // The pool keeps the address for this identity, so a reconnect gets it back; while another SA of
    // the same identity (a reauthentication) still holds it, it stays leased.
    const vip = sa.virtualIp;
    // (A lease's identity is its holder's ID, so the index finds the other holders.)
    const stillHeld = () => [...this.#indexedNames.keys()].some((name) => (this.#byIdentity.get(identityKey(name, vip!.identity)) ?? []).some((o) => o !== sa && o.state !== 'closed' && o.virtualIp?.pool === vip!.pool && o.virtualIp.identity === vip!.identity));
    if (!sa.initiator && vip && sa.rekeyedTo === undefined && !stillHeld()) this.#options.addresses?.release(vip.pool, vip.identity);
    if (sa.rekeyedTo !== undefined) {
      this.#log('info', `old IKE SA ${sa.spiI.toString(16)} closed after its rekey`, { connection: sa.connection?.name });
      return;
    }
    this.#log(wasUp ? 'info' : 'warn', `IKE SA closed: ${reason}`, { spi: sa.spiI.toString(16), connection: sa.connection?.name, remote: `${sa.remote.address}:${sa.remote.port}` });
    this.#actions.push({ type: 'ike-down', spi: sa.spiI, connection: sa.connection?.name ?? '', reason });
  }

  /**
   * After each exchange of an SA: once established it is found by its peer's ID, and it lets go of
   * what only IKE_AUTH needed (both IKE_SA_INIT messages and the nonces), so thousands of idle SAs
   * do not keep them (issue 23).
   */
  #settle(sa: IkeSa): void {
    if (sa.state !== 'established' || !sa.initRequest.length) return;
    this.#index(sa);
    sa.initRequest = sa.initResponse = sa.ni = sa.nr = EMPTY;
    delete sa.eap.firstRequest;
  }

  /** Established SAs only: their peer's ID no longer changes (an EAP identity comes before). */
  #index(sa: IkeSa): void {
    const name = sa.connection?.name ?? '';
    const key = identityKey(name, sa.remoteId);
    const same = this.#byIdentity.get(key) ?? [];
    if (same.includes(sa)) return;
    this.#byIdentity.set(key, [...same, sa]);
    this.#indexedNames.set(name, (this.#indexedNames.get(name) ?? 0) + 1);
  }

  #unindex(sa: IkeSa): void {
    const name = sa.connection?.name ?? '';
    const key = identityKey(name, sa.remoteId);
    const same = this.#byIdentity.get(key);
    if (!same?.includes(sa)) return;
    const rest = same.filter((o) => o !== sa);
    if (rest.length) this.#byIdentity.set(key, rest);
    else this.#byIdentity.delete(key);
    const n = (this.#indexedNames.get(name) ?? 1) - 1;
    if (n > 0) this.#indexedNames.set(name, n);
    else this.#indexedNames.delete(name);
  }

  #forgetHalfOpen(sa: IkeSa): void {
    const key = this.#halfOpenKeys.get(sa);
    if (key === undefined) return;
    this.#halfOpenKeys.delete(sa);
    if (this.#halfOpen.get(key) === sa) this.#halfOpen.delete(key);
  }

  #newIkeSpi(): bigint {
    for (;;) {
      const r = this.#crypto.randomBytes(8);
      const spi = new DataView(r.buffer, r.byteOffset, 8).getBigUint64(0);
      if (spi !== 0n && !this.#sas.has(spi)) return spi;
    }
  }

  #newChildSpi(): number {
    for (;;) {
      const r = this.#crypto.randomBytes(4);
      const spi = ((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0;
      if (spi >= 0x100 && !this.#childSpis.has(spi)) {
        this.#childSpis.add(spi);
        return spi;
      }
    }
  }

  #drop(reason: string, fields: Record<string, unknown>): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.#log('debug', `dropped an IKE packet: ${reason}`, fields);
  }

  #log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    if (this.#logs(level)) this.#actions.push({ type: 'log', level, msg, ...(fields ? { fields } : {}) });
  }

  /**
   * Whether a line at this level is wanted. Each message's line is debug (at 1,000 setups a second,
   * four lines per setup buried the SA events, and building them cost more than their exchange's HMACs).
   */
  #logs(level: LogLevel): boolean {
    return LogLevel[level] >= this.#minLogLevel;
  }

  #flush(): IkeAction[] {
    for (const sa of this.#touched) this.#wake(sa);
    this.#touched.clear();
    const out = this.#actions;
    this.#actions = [];
    // A child's inbound SPI is ours again once the child has left (rekeys would otherwise pile them up).
    for (const a of out) if (a.type === 'delete-child') this.#childSpis.delete(a.child.inbound.spi);
    return out;
  }
}
