/*
 * One PPP link on the gateway side, through the phases of RFC 1661 §3.2:
 *
 *   Dead --lower up--> Establish (LCP) --LCP Opened--> Authenticate --success--> Network (IPCP, IPV6CP, CCP)
 *     ^                                                     | failure                    |
 *     +---------------------- Terminate <-------------------+----------------------------+ LCP down / close
 *
 * Sans-I/O: frames and time in, actions out. Packets of a phase not reached yet are dropped and
 * counted (§3.2: "any non-LCP packets received during this phase MUST be silently discarded"), IP
 * before its NCP is Opened too; protocols nobody here speaks get an LCP Protocol-Reject (§5.7).
 */
import type { Secret } from '../util/secret.ts';
import { PppProtocol, decodePppFrame } from './frame.ts';
import { Fsm, FsmState } from './fsm.ts';
import type { FsmProtocol, PppAction } from './fsm-protocol.ts';
import { CcpHandler } from './ccp.ts';
import { encodeControlPacket } from './control-packet.ts';
import { MppeCiphers } from './mppe/mppe-ciphers.ts';
import type { MppePolicy } from './mppe/mppe-option.ts';
import type { SessionAuthorization } from '../radius/session-authorization.ts';
import { IpcpHandler, type IpcpConfig, type IpcpNegotiated } from './ipcp.ts';
import { LcpEngine, type LcpEngineOptions } from './lcp-engine.ts';
import type { AuthMethod } from './lcp.ts';
import { countInto, NOTHING_COUNTED } from '../util/lazy-counts.ts';

export type LinkPhase = 'dead' | 'establish' | 'authenticate' | 'network' | 'terminate';

/** Keys an authentication method made, for the layers that need them. */
export interface AuthKeys {
  /** SSTP's Higher-Layer Authentication Key ([MS-SSTP] §3.2.5.2). */
  readonly hlak?: Secret<Uint8Array>;
  /** MPPE master keys (RFC 3079 §3.4), from the authenticator's point of view. */
  readonly mppe?: { readonly send: Secret<Uint8Array>; readonly receive: Secret<Uint8Array> };
}

export type AuthOutcome =
  | { readonly ok: true; readonly user: string; readonly keys?: AuthKeys; readonly authorization?: SessionAuthorization }
  | { readonly ok: false; readonly user?: string; readonly reason: string };

/** What one step of an authentication method gives: packets to send and, at the end, the outcome. */
export interface AuthStep {
  readonly send: readonly Uint8Array[];
  readonly outcome?: AuthOutcome;
}

/** The authenticator side of one method (CHAP, MS-CHAPv2, PAP, EAP), as the link drives it. */
export interface PppAuthenticator {
  /** The PPP protocol its packets travel under (0xC223, 0xC023, 0xC227). */
  readonly protocol: number;
  start(now: number): AuthStep;
  receive(packet: Uint8Array, now: number): AuthStep;
  tick(now: number): AuthStep;
  nextTimeout(): number | undefined;
}

/** A network-layer protocol beside IPCP (IPV6CP): its handler and the data protocol it opens. */
export interface ExtraNcp {
  readonly handler: FsmProtocol;
  readonly dataProtocol: number;
}

export interface PppLinkOptions {
  readonly lcp: LcpEngineOptions;
  /** Builds the authenticator for the method LCP agreed on; undefined refuses the method. */
  readonly createAuthenticator: (method: AuthMethod) => PppAuthenticator | undefined;
  readonly ipcp: IpcpConfig;
  readonly ipv6cp?: ExtraNcp;
  /** Frames carry Address/Control (SSTP, L2TP) or not (PPTP over GRE still does: RFC 2637 §4.4). */
  readonly addressControl?: boolean;
  /** MPPE (RFC 3078) through CCP: absent means CCP agrees to nothing. */
  readonly mppe?: MppePolicy;
}

export type LinkAction =
  /** A PPP frame to the lower layer (protocol field onward, Address/Control added by the caller). */
  | { readonly type: 'send'; readonly protocol: number; readonly packet: Uint8Array }
  | { readonly type: 'deliver'; readonly protocol: number; readonly packet: Uint8Array }
  | { readonly type: 'authenticated'; readonly user: string; readonly method: AuthMethod; readonly keys?: AuthKeys; readonly authorization?: SessionAuthorization }
  | { readonly type: 'auth-failed'; readonly user?: string; readonly method: AuthMethod | undefined; readonly reason: string }
  /** IPCP is Opened: routes for the peer's address may go in. */
  | { readonly type: 'network-up'; readonly protocol: number; readonly ipv4?: Readonly<IpcpNegotiated> }
  | { readonly type: 'network-down'; readonly protocol: number }
  /** The link is over (LCP finished): release everything; the lower layer may close. */
  | { readonly type: 'dead'; readonly reason: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly fields?: Record<string, unknown> };

const AUTH_PROTOCOLS: ReadonlySet<number> = new Set([PppProtocol.CHAP, PppProtocol.PAP, PppProtocol.EAP]);

export class PppLink {
  readonly lcp: LcpEngine;
  readonly ipcp: Fsm;
  readonly ipcpHandler: IpcpHandler;
  readonly ccp: Fsm;
  readonly ccpHandler: CcpHandler;
  readonly ipv6cp: Fsm | undefined;
  #drops: Record<string, number> | undefined;
  readonly #options: PppLinkOptions;
  #phase: LinkPhase = 'dead';
  #auth: PppAuthenticator | undefined;
  /** The agreed method's protocol, kept once its authenticator is let go (issue 23: memory per call). */
  #authProtocol: number | undefined;
  #method: AuthMethod | undefined;
  #user: string | undefined;
  #deadReason = 'closed';
  /** Made at the first action of a step (an engine between steps holds none: issue 23). */
  #out: LinkAction[] | undefined;
  #mppeKeys: AuthKeys['mppe'];
  #mppe: MppeCiphers | undefined;
  #ccpIdentifier = 0;

  /** Dropped, by reason (made at the first drop). */
  get drops(): Readonly<Record<string, number>> {
    return this.#drops ?? NOTHING_COUNTED;
  }

  /** A drop the layer above made for this link (a source outside the session's addresses). */
  countDrop(reason: string): void {
    this.#drops = countInto(this.#drops, reason);
  }

  constructor(options: PppLinkOptions) {
    this.#options = options;
    this.lcp = new LcpEngine(options.lcp);
    this.ipcpHandler = new IpcpHandler(options.ipcp);
    this.ipcp = new Fsm(this.ipcpHandler, options.lcp);
    this.ccpHandler = new CcpHandler(options.mppe);
    this.ccp = new Fsm(this.ccpHandler, options.lcp);
    this.ipv6cp = options.ipv6cp ? new Fsm(options.ipv6cp.handler, options.lcp) : undefined;
  }

  get phase(): LinkPhase {
    return this.#phase;
  }

  /** The authenticated user, once known. */
  get user(): string | undefined {
    return this.#user;
  }

  /** Whether IP travels MPPE-encrypted now. */
  get mppeActive(): boolean {
    return this.#mppe !== undefined;
  }

  /** This CCP opening's MPPE, for a lower layer whose driver can take it over (issue 22). */
  get mppe(): MppeCiphers | undefined {
    return this.#mppe;
  }

  /**
   * An IP packet from the network for the peer, as the frame's protocol and information: encrypted
   * when MPPE is on; undefined (dropped and counted) while a required MPPE is not up yet.
   */
  encapsulate(protocol: number, packet: Uint8Array): { readonly protocol: number; readonly information: Uint8Array } | undefined {
    if (this.#mppe?.inDriver) {
      this.#drop('IP out while MPPE is in the driver');
      return undefined;
    }
    if (this.#mppe) return { protocol: PppProtocol.CompressedDatagram, information: this.#mppe.encryptor.encrypt(protocol, packet) };
    if (this.#options.mppe?.mode === 'require') {
      this.#drop('IP out before MPPE is up');
      return undefined;
    }
    return { protocol, information: packet };
  }

  /** §3.2 Link Establishment: the lower layer is up; we open LCP at once (a gateway is never passive). */
  lowerUp(now: number): LinkAction[] {
    this.#phase = 'establish';
    this.#lcp(this.lcp.up(now), now);
    this.#lcp(this.lcp.open(now), now);
    return this.#flush();
  }

  /** The lower layer is gone: every layer down, the link dead. */
  lowerDown(now: number, reason: string): LinkAction[] {
    if (this.#phase === 'dead') return [];
    this.#deadReason = reason;
    this.#networkDown(now);
    this.#lcp(this.lcp.down(now), now);
    this.#die(reason);
    return this.#flush();
  }

  /** Administrative close: LCP Terminate-Request, then dead. */
  close(now: number, reason: string): LinkAction[] {
    if (this.#phase === 'dead') return [];
    this.#deadReason = reason;
    this.#networkDown(now);
    this.#lcp(this.lcp.close(now, reason), now);
    return this.#flush();
  }

  /** One PPP frame from the lower layer (Address/Control optional, PFC when agreed). */
  receiveFrame(bytes: Uint8Array, now: number): LinkAction[] {
    const decoded = decodePppFrame(bytes, { pfc: this.lcp.negotiated.peerPfc });
    if (!decoded.ok) {
      this.#drop(`bad frame ${decoded.error.code}`);
      return [];
    }
    const { protocol, information } = decoded.value;
    if (this.#phase === 'dead') this.#drop('link dead');
    else if (protocol === PppProtocol.LCP) this.#lcp(this.lcp.receive(information, now), now);
    else if (this.#phase === 'establish') this.#drop('before LCP Opened');
    else if (AUTH_PROTOCOLS.has(protocol)) this.#onAuthPacket(protocol, information, now);
    else if (this.#phase !== 'network') this.#drop('before the network phase');
    else this.#onNetworkFrame(protocol, information, now);
    return this.#flush();
  }

  /**
   * Issue 22: a frame MPPE carried, decrypted by the driver that holds this link's MPPE (a
   * DHCPINFORM, a router solicitation): IP goes on as from #onMppe; anything else is dropped as there.
   */
  receiveDecrypted(bytes: Uint8Array, now: number): LinkAction[] {
    const decoded = decodePppFrame(bytes, { pfc: true });
    if (!decoded.ok || !this.#mppe?.inDriver || this.#phase !== 'network') this.#drop('decrypted frame out of place');
    else if (decoded.value.protocol !== PppProtocol.IPv4 && decoded.value.protocol !== this.#options.ipv6cp?.dataProtocol) this.#drop('MPPE carried a protocol other than IP');
    else this.#onData(decoded.value.protocol, decoded.value.information, now);
    return this.#flush();
  }

  tick(now: number): LinkAction[] {
    this.#lcp(this.lcp.tick(now), now);
    if (this.#auth && this.#phase === 'authenticate') this.#authStep(this.#auth.tick(now), now);
    for (const [fsm, protocol] of this.#ncps()) this.#ncp(fsm.tick(now), protocol, now);
    return this.#flush();
  }

  /** Asked after every frame: nothing is built for the answer (issue 23: less garbage per call). */
  nextTimeout(): number | undefined {
    let at = earliest(this.lcp.nextTimeout(), this.#phase === 'authenticate' ? this.#auth?.nextTimeout() : undefined);
    at = earliest(at, this.ipcp.nextTimeout());
    at = earliest(at, this.ccp.nextTimeout());
    return this.ipv6cp && this.#options.ipv6cp ? earliest(at, this.ipv6cp.nextTimeout()) : at;
  }

  #onNetworkFrame(protocol: number, information: Uint8Array, now: number): void {
    const v6 = this.#options.ipv6cp;
    if (protocol === PppProtocol.IPCP) return this.#ncp(this.ipcp.receive(information, now), protocol, now);
    if (protocol === PppProtocol.CCP) return this.#onCcp(information, now);
    if (v6 && this.ipv6cp && protocol === v6.handler.protocol) return this.#ncp(this.ipv6cp.receive(information, now), protocol, now);
    if (protocol === PppProtocol.CompressedDatagram) return this.#onMppe(information, now);
    if ((protocol === PppProtocol.IPv4 || protocol === v6?.dataProtocol) && (this.#mppe || this.#options.mppe?.mode === 'require')) {
      // RFC 3078 §3: with MPPE on, plain data would bypass the encryption both sides agreed on.
      return this.#drop('unencrypted IP while MPPE is required or on');
    }
    this.#onData(protocol, information, now);
  }

  /** IP (from a plain frame or out of MPPE) to the layer above, once its NCP is Opened. */
  #onData(protocol: number, information: Uint8Array, now: number): void {
    const v6 = this.#options.ipv6cp;
    if (protocol === PppProtocol.IPv4) {
      if (this.ipcp.state === FsmState.Opened) (this.#out ??= []).push({ type: 'deliver', protocol, packet: information });
      else this.#drop('IPv4 before IPCP Opened');
      return;
    }
    if (v6 && protocol === v6.dataProtocol) {
      if (this.ipv6cp?.state === FsmState.Opened) (this.#out ??= []).push({ type: 'deliver', protocol, packet: information });
      else this.#drop('IPv6 before IPV6CP Opened');
      return;
    }
    this.#lcp(this.lcp.protocolReject(protocol, information), now);
  }

  /** CCP: Reset-Request/Ack (RFC 1962 §2.2) are MPPE's (RFC 3078 §8.2); the rest goes to the automaton. */
  #onCcp(information: Uint8Array, now: number): void {
    const code = information[0];
    if (code === 14) {
      if (!this.#mppe) return this.#drop('CCP Reset-Request without MPPE');
      this.#mppe.encryptor.reset();
      (this.#out ??= []).push({ type: 'send', protocol: PppProtocol.CCP, packet: encodeControlPacket({ code: 15, identifier: information[1] ?? 0, data: new Uint8Array(0) }) });
      return;
    }
    if (code === 15) return;
    this.#ncp(this.ccp.receive(information, now), PppProtocol.CCP, now);
  }

  #onMppe(information: Uint8Array, now: number): void {
    if (!this.#mppe) return this.#drop('Compressed Datagram without MPPE');
    const opened = this.#mppe.decryptor.decrypt(information);
    if (!opened.ok) {
      this.#drop(opened.reason);
      if (opened.resetRequest) {
        this.#ccpIdentifier = (this.#ccpIdentifier + 1) & 0xff;
        (this.#out ??= []).push({ type: 'send', protocol: PppProtocol.CCP, packet: encodeControlPacket({ code: 14, identifier: this.#ccpIdentifier, data: new Uint8Array(0) }) });
      }
      return;
    }
    const v6 = this.#options.ipv6cp;
    if (opened.protocol !== PppProtocol.IPv4 && opened.protocol !== v6?.dataProtocol) return this.#drop('MPPE carried a protocol other than IP');
    this.#onData(opened.protocol, opened.information, now);
  }

  #onAuthPacket(protocol: number, information: Uint8Array, now: number): void {
    // §3.2: after authentication, a late retransmission of the peer's response still gets our verdict
    // from the method (CHAP resends Success); anything of another method is a protocol nobody speaks.
    // The method's authenticator goes once IPCP is open (the peer acked us, so it had our verdict): what still comes is dropped.
    if (!this.#auth && protocol === this.#authProtocol) return this.#drop('authentication packet after IPCP opened');
    if (!this.#auth || protocol !== this.#auth.protocol) return this.#lcp(this.lcp.protocolReject(protocol, information), now);
    this.#authStep(this.#auth.receive(information, now), now);
  }

  /** LCP actions: frames out, and the phase changes its This-Layer-Up/Finished bring. */
  #lcp(actions: readonly PppAction[], now: number): void {
    for (const a of actions) {
      if (a.type === 'send') (this.#out ??= []).push({ type: 'send', protocol: a.protocol, packet: a.packet });
      else if (a.type === 'log') (this.#out ??= []).push(a);
      else if (a.type === 'layer-up') this.#startAuth(now);
      else if (a.type === 'layer-down') {
        this.#networkDown(now);
        if (this.#phase !== 'dead') this.#phase = 'terminate';
      } else if (a.type === 'layer-finished') this.#die(this.#deadReason === 'closed' ? a.why : this.#deadReason);
      else if (a.type === 'protocol-rejected') this.#onProtocolRejected(a.protocol, now);
    }
  }

  #startAuth(now: number): void {
    const method = this.lcp.negotiated.auth;
    const auth = method ? this.#options.createAuthenticator(method) : undefined;
    if (!method || !auth) {
      (this.#out ??= []).push({ type: 'log', level: 'warn', msg: 'PPP: no authentication method agreed; closing' });
      this.#deadReason = 'no authentication method';
      this.#lcp(this.lcp.close(now, 'authentication required'), now);
      return;
    }
    this.#phase = 'authenticate';
    this.#method = method;
    this.#auth = auth;
    this.#authStep(auth.start(now), now);
  }

  #authStep(step: AuthStep, now: number): void {
    const protocol = this.#auth?.protocol ?? PppProtocol.CHAP;
    for (const packet of step.send) (this.#out ??= []).push({ type: 'send', protocol, packet });
    const outcome = step.outcome;
    if (!outcome || this.#phase !== 'authenticate') return;
    if (!outcome.ok) {
      (this.#out ??= []).push({ type: 'auth-failed', method: this.#method, reason: outcome.reason, ...(outcome.user !== undefined ? { user: outcome.user } : {}) });
      this.#deadReason = `authentication failed: ${outcome.reason}`;
      this.#lcp(this.lcp.close(now, 'authentication failed'), now);
      return;
    }
    this.#user = outcome.user;
    // Kept only where MPPE may use them: without a policy CCP agrees to nothing (and a call holds no keys it never needs).
    this.#mppeKeys = this.#options.mppe ? outcome.keys?.mppe : undefined;
    this.ccpHandler.setMppeKeysAvailable(this.#mppeKeys !== undefined);
    if (this.#options.mppe?.mode === 'require' && !this.#mppeKeys) {
      // CHAP-MD5 and PAP never make keys; MS-CHAPv1 through RADIUS has none when the Accept lacks MS-CHAP-MPPE-Keys.
      (this.#out ??= []).push({ type: 'log', level: 'warn', msg: 'PPP: MPPE is required but the authentication gave no keys (use MS-CHAPv2)', fields: { method: this.#method } });
      this.#deadReason = 'MPPE required: no keys from authentication';
      this.#lcp(this.lcp.close(now, 'MPPE required'), now);
      return;
    }
    (this.#out ??= []).push({ type: 'authenticated', user: outcome.user, method: this.#method as AuthMethod, ...(outcome.keys ? { keys: outcome.keys } : {}), ...(outcome.authorization ? { authorization: outcome.authorization } : {}) });
    this.#phase = 'network';
    for (const [fsm, protocol] of this.#ncps()) {
      this.#ncp(fsm.up(now), protocol, now);
      this.#ncp(fsm.open(now), protocol, now);
    }
  }

  #ncp(actions: readonly PppAction[], protocol: number, now: number): void {
    for (const a of actions) {
      if (a.type === 'send') (this.#out ??= []).push({ type: 'send', protocol: a.protocol, packet: a.packet });
      else if (a.type === 'log') (this.#out ??= []).push(a);
      else if (protocol === PppProtocol.CCP) this.#onCcpLayer(a, now);
      else if (a.type === 'layer-up' && protocol !== PppProtocol.CCP) {
        if (protocol === PppProtocol.IPCP) this.#releaseAuthenticator();
        (this.#out ??= []).push({ type: 'network-up', protocol, ...(protocol === PppProtocol.IPCP ? { ipv4: { ...this.ipcpHandler.negotiated } } : {}) });
      } else if (a.type === 'layer-down' && protocol !== PppProtocol.CCP) (this.#out ??= []).push({ type: 'network-down', protocol });
      else if (a.type === 'layer-finished' && protocol === PppProtocol.IPCP && this.#phase === 'network') {
        // IPCP gave up (no address left, or the peer refused ours): without IPv4 the link is useless.
        this.#deadReason = `IPCP finished: ${a.why}`;
        this.#lcp(this.lcp.close(now, 'IPCP failed'), now);
      }
    }
  }

  /** CCP up: MPPE starts if both directions agreed; a required MPPE that did not ends the link. */
  #onCcpLayer(a: PppAction, now: number): void {
    if (a.type === 'layer-down') this.#mppe = undefined;
    const required = this.#options.mppe?.mode === 'require';
    if (a.type === 'layer-finished' && required && this.#phase === 'network') {
      this.#deadReason = `MPPE required: CCP finished (${a.why})`;
      this.#lcp(this.lcp.close(now, 'MPPE required'), now);
    }
    if (a.type !== 'layer-up') return;
    const { send, receive } = this.ccpHandler.negotiated;
    const keys = this.#mppeKeys;
    if (send && receive && keys) {
      this.#mppe = new MppeCiphers({ startKey: keys.send.reveal(), strength: send.strength, stateful: !send.stateless }, { startKey: keys.receive.reveal(), strength: receive.strength, stateful: !receive.stateless });
      (this.#out ??= []).push({ type: 'log', level: 'info', msg: 'PPP: MPPE on', fields: { send: send.strength, receive: receive.strength, stateless: send.stateless && receive.stateless } });
    } else if (required) {
      this.#deadReason = 'MPPE required: not agreed in both directions';
      this.#lcp(this.lcp.close(now, 'MPPE required'), now);
    }
  }

  /** §5.7: the peer does not speak an NCP of ours; stop it without ending the link (IPCP excepted). */
  #onProtocolRejected(protocol: number, now: number): void {
    for (const [fsm, p] of this.#ncps()) if (p === protocol) this.#ncp(fsm.down(now), p, now);
    if (protocol === PppProtocol.IPCP) {
      this.#deadReason = 'the peer rejected IPCP';
      this.#lcp(this.lcp.close(now, 'IPCP rejected'), now);
    }
  }

  #networkDown(now: number): void {
    for (const [fsm, protocol] of this.#ncps()) if (fsm.state !== FsmState.Initial) this.#ncp(fsm.down(now), protocol, now);
  }

  /**
   * IPCP opened: the peer acked our request after it had our verdict, so no retransmitted response
   * needs an answer any more; the authenticator (challenge, verdict, its hooks) is let go.
   */
  #releaseAuthenticator(): void {
    if (!this.#auth) return;
    this.#authProtocol = this.#auth.protocol;
    this.#auth = undefined;
  }

  #die(reason: string): void {
    if (this.#phase === 'dead') return;
    this.#phase = 'dead';
    this.#auth = undefined;
    (this.#out ??= []).push({ type: 'dead', reason });
  }

  #ncps(): Array<[Fsm, number]> {
    const list: Array<[Fsm, number]> = [[this.ipcp, PppProtocol.IPCP], [this.ccp, PppProtocol.CCP]];
    if (this.ipv6cp && this.#options.ipv6cp) list.push([this.ipv6cp, this.#options.ipv6cp.handler.protocol]);
    return list;
  }

  #drop(reason: string): void {
    this.#drops = countInto(this.#drops, reason);
  }

  #flush(): LinkAction[] {
    const out = this.#out ?? [];
    this.#out = undefined;
    return out;
  }
}

/** The earlier of two deadlines, either possibly absent. */
export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
