/*
 * One PPP link on the dialling side (Postern as an SSTP client, and its load generator), through the
 * same phases as link.ts (RFC 1661 §3.2) but as the peer: we accept the authentication the server
 * asks for (LCP Authentication-Protocol, §5.1 of RFC 1994), answer it, and take the address IPCP
 * offers (ipcp-client.ts). Sans-I/O: frames and time in, actions out.
 */
import type { Secret } from '../util/secret.ts';
import { encodeControlPacket } from './control-packet.ts';
import { PppProtocol, decodePppFrame } from './frame.ts';
import { Fsm, FsmState } from './fsm.ts';
import type { PppAction } from './fsm-protocol.ts';
import { CcpHandler } from './ccp.ts';
import { IpcpClientHandler } from './ipcp-client.ts';
import type { IpcpNegotiated } from './ipcp.ts';
import { LcpEngine, type LcpEngineOptions } from './lcp-engine.ts';
import type { AuthMethod } from './lcp.ts';
import type { AuthKeys, AuthStep } from './link.ts';
import { MppeCiphers } from './mppe/mppe-ciphers.ts';
import type { MppePolicy } from './mppe/mppe-option.ts';

/** The authenticated side of one method: it answers the server's packets. */
export interface PppAuthPeer {
  readonly protocol: number;
  /** LCP is Opened: PAP speaks first; challenge methods wait. */
  start(now: number): AuthStep;
  receive(packet: Uint8Array, now: number): AuthStep;
  tick(now: number): AuthStep;
  nextTimeout(): number | undefined;
}

export interface PppClientLinkOptions {
  /** `acceptAuth` lists the methods we will answer, preferred first. */
  readonly lcp: LcpEngineOptions;
  readonly createAuthPeer: (method: AuthMethod) => PppAuthPeer | undefined;
  readonly askDns?: boolean;
  /**
   * MPPE (RFC 3078) over CCP, as PPTP needs: keys from the auth peer's outcome (`keys.mppe`, our own
   * send and receive keys). 'require' ends the link when it cannot be agreed. Without it CCP is
   * answered with rejects (SSTP, L2TP/IPsec: the tunnel encrypts).
   */
  readonly mppe?: MppePolicy;
}

export type ClientLinkAction =
  | { readonly type: 'send'; readonly protocol: number; readonly packet: Uint8Array }
  | { readonly type: 'deliver'; readonly protocol: number; readonly packet: Uint8Array }
  | { readonly type: 'authenticated'; readonly method: AuthMethod; readonly keys?: AuthKeys }
  | { readonly type: 'auth-failed'; readonly reason: string }
  | { readonly type: 'network-up'; readonly ipv4: Readonly<IpcpNegotiated> }
  | { readonly type: 'network-down' }
  | { readonly type: 'dead'; readonly reason: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly fields?: Record<string, unknown> };

export type { AuthKeys, Secret };

const AUTH_PROTOCOLS: ReadonlySet<number> = new Set([PppProtocol.CHAP, PppProtocol.PAP, PppProtocol.EAP]);

export class PppClientLink {
  readonly lcp: LcpEngine;
  readonly ipcpHandler: IpcpClientHandler;
  readonly ipcp: Fsm;
  readonly ccp: Fsm;
  readonly ccpHandler: CcpHandler;
  readonly drops: Record<string, number> = {};
  readonly #options: PppClientLinkOptions;
  #phase: 'dead' | 'establish' | 'authenticate' | 'network' | 'terminate' = 'dead';
  #auth: PppAuthPeer | undefined;
  #method: AuthMethod | undefined;
  #reason = 'closed';
  #out: ClientLinkAction[] = [];
  #mppeKeys: AuthKeys['mppe'];
  #mppe: MppeCiphers | undefined;
  #ccpIdentifier = 0;

  constructor(options: PppClientLinkOptions) {
    this.#options = options;
    this.lcp = new LcpEngine({ ...options.lcp, auth: [] });
    this.ipcpHandler = new IpcpClientHandler({ askDns: options.askDns ?? true });
    this.ipcp = new Fsm(this.ipcpHandler, options.lcp);
    this.ccpHandler = new CcpHandler(options.mppe);
    this.ccp = new Fsm(this.ccpHandler, options.lcp);
  }

  get phase(): string {
    return this.#phase;
  }

  /** Whether IP travels MPPE-encrypted now. */
  get mppeActive(): boolean {
    return this.#mppe !== undefined;
  }

  /** This CCP opening's MPPE, for a lower layer whose driver can take it over (issue 22). */
  get mppe(): MppeCiphers | undefined {
    return this.#mppe;
  }

  /** An IP packet for the peer as the frame's protocol and information: encrypted with MPPE on; undefined (dropped) while a required MPPE is not up. */
  encapsulate(protocol: number, packet: Uint8Array): { readonly protocol: number; readonly information: Uint8Array } | undefined {
    if (this.ipcp.state !== FsmState.Opened) return undefined;
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

  lowerUp(now: number): ClientLinkAction[] {
    this.#phase = 'establish';
    this.#lcp(this.lcp.up(now), now);
    this.#lcp(this.lcp.open(now), now);
    return this.#flush();
  }

  lowerDown(now: number, reason: string): ClientLinkAction[] {
    if (this.#phase === 'dead') return [];
    this.#reason = reason;
    this.#networkDown(now);
    this.#lcp(this.lcp.down(now), now);
    this.#die(reason);
    return this.#flush();
  }

  close(now: number, reason: string): ClientLinkAction[] {
    if (this.#phase === 'dead') return [];
    this.#reason = reason;
    this.#networkDown(now);
    this.#lcp(this.lcp.close(now, reason), now);
    return this.#flush();
  }

  receiveFrame(bytes: Uint8Array, now: number): ClientLinkAction[] {
    const decoded = decodePppFrame(bytes, { pfc: this.lcp.negotiated.peerPfc });
    if (!decoded.ok) {
      this.#drop(`bad frame ${decoded.error.code}`);
      return [];
    }
    const { protocol, information } = decoded.value;
    if (this.#phase === 'dead') this.#drop('link dead');
    else if (protocol === PppProtocol.LCP) this.#lcp(this.lcp.receive(information, now), now);
    else if (this.#phase === 'establish') this.#drop('before LCP Opened');
    else if (AUTH_PROTOCOLS.has(protocol)) {
      if (this.#auth && protocol === this.#auth.protocol) this.#authStep(this.#auth.receive(information, now), now);
      else this.#lcp(this.lcp.protocolReject(protocol, information), now);
    } else if (this.#phase !== 'network') this.#drop('before the network phase');
    else if (protocol === PppProtocol.IPCP) this.#ncp(this.ipcp.receive(information, now), protocol, now);
    else if (protocol === PppProtocol.CCP) this.#onCcp(information, now);
    else if (protocol === PppProtocol.CompressedDatagram) this.#onMppe(information);
    else if (protocol === PppProtocol.IPv4) {
      // RFC 3078 §3: with MPPE on (or required) plain IP would bypass the agreed encryption.
      if (this.#mppe || this.#options.mppe?.mode === 'require') this.#drop('unencrypted IP while MPPE is required or on');
      else this.#deliverIp(information);
    } else this.#lcp(this.lcp.protocolReject(protocol, information), now);
    return this.#flush();
  }

  tick(now: number): ClientLinkAction[] {
    this.#lcp(this.lcp.tick(now), now);
    if (this.#auth && this.#phase === 'authenticate') this.#authStep(this.#auth.tick(now), now);
    this.#ncp(this.ipcp.tick(now), PppProtocol.IPCP, now);
    this.#ncp(this.ccp.tick(now), PppProtocol.CCP, now);
    return this.#flush();
  }

  nextTimeout(): number | undefined {
    const times = [this.lcp.nextTimeout(), this.#phase === 'authenticate' ? this.#auth?.nextTimeout() : undefined, this.ipcp.nextTimeout(), this.ccp.nextTimeout()];
    return times.reduce<number | undefined>((a, b) => (b === undefined ? a : a === undefined ? b : Math.min(a, b)), undefined);
  }

  #deliverIp(packet: Uint8Array): void {
    if (this.ipcp.state === FsmState.Opened) this.#out.push({ type: 'deliver', protocol: PppProtocol.IPv4, packet });
    else this.#drop('IPv4 before IPCP Opened');
  }

  /** CCP Reset-Request/Ack (RFC 1962 §2.2) are MPPE's (RFC 3078 §8.2); the rest goes to the automaton. */
  #onCcp(information: Uint8Array, now: number): void {
    const code = information[0];
    if (code === 14) {
      if (!this.#mppe) return this.#drop('CCP Reset-Request without MPPE');
      this.#mppe.encryptor.reset();
      this.#out.push({ type: 'send', protocol: PppProtocol.CCP, packet: encodeControlPacket({ code: 15, identifier: information[1] ?? 0, data: new Uint8Array(0) }) });
      return;
    }
    if (code === 15) return;
    this.#ncp(this.ccp.receive(information, now), PppProtocol.CCP, now);
  }

  #onMppe(information: Uint8Array): void {
    if (!this.#mppe) return this.#drop('Compressed Datagram without MPPE');
    const opened = this.#mppe.decryptor.decrypt(information);
    if (!opened.ok) {
      this.#drop(opened.reason);
      if (opened.resetRequest) {
        this.#ccpIdentifier = (this.#ccpIdentifier + 1) & 0xff;
        this.#out.push({ type: 'send', protocol: PppProtocol.CCP, packet: encodeControlPacket({ code: 14, identifier: this.#ccpIdentifier, data: new Uint8Array(0) }) });
      }
      return;
    }
    if (opened.protocol !== PppProtocol.IPv4) return this.#drop('MPPE carried a protocol other than IPv4');
    this.#deliverIp(opened.information);
  }

  #lcp(actions: readonly PppAction[], now: number): void {
    for (const a of actions) {
      if (a.type === 'send') this.#out.push({ type: 'send', protocol: a.protocol, packet: a.packet });
      else if (a.type === 'log') this.#out.push(a);
      else if (a.type === 'layer-up') this.#startAuth(now);
      else if (a.type === 'layer-down') {
        this.#networkDown(now);
        if (this.#phase !== 'dead') this.#phase = 'terminate';
      } else if (a.type === 'layer-finished') this.#die(this.#reason === 'closed' ? a.why : this.#reason);
      else if (a.type === 'protocol-rejected' && a.protocol === PppProtocol.IPCP) {
        this.#reason = 'the server rejected IPCP';
        this.#lcp(this.lcp.close(now, 'IPCP rejected'), now);
      }
    }
  }

  /** No authentication asked: straight to the network phase (RFC 1661 §3.4 allows it). */
  #startAuth(now: number): void {
    const method = this.lcp.negotiated.peerAuth;
    if (!method) return this.#network(now);
    const auth = this.#options.createAuthPeer(method);
    if (!auth) {
      this.#reason = `cannot authenticate with ${method}`;
      this.#lcp(this.lcp.close(now, this.#reason), now);
      return;
    }
    this.#phase = 'authenticate';
    this.#method = method;
    this.#auth = auth;
    this.#authStep(auth.start(now), now);
  }

  #authStep(step: AuthStep, now: number): void {
    const protocol = this.#auth?.protocol ?? PppProtocol.CHAP;
    for (const packet of step.send) this.#out.push({ type: 'send', protocol, packet });
    const outcome = step.outcome;
    if (!outcome || this.#phase !== 'authenticate') return;
    if (!outcome.ok) {
      this.#out.push({ type: 'auth-failed', reason: outcome.reason });
      this.#reason = `authentication failed: ${outcome.reason}`;
      this.#lcp(this.lcp.close(now, 'authentication failed'), now);
      return;
    }
    this.#mppeKeys = outcome.keys?.mppe;
    this.ccpHandler.setMppeKeysAvailable(this.#mppeKeys !== undefined);
    if (this.#options.mppe?.mode === 'require' && !this.#mppeKeys) {
      this.#reason = 'MPPE required: no keys from authentication';
      this.#lcp(this.lcp.close(now, 'MPPE required'), now);
      return;
    }
    this.#out.push({ type: 'authenticated', method: this.#method as AuthMethod, ...(outcome.keys ? { keys: outcome.keys } : {}) });
    this.#network(now);
  }

  #network(now: number): void {
    this.#phase = 'network';
    for (const [fsm, protocol] of [[this.ipcp, PppProtocol.IPCP], [this.ccp, PppProtocol.CCP]] as const) {
      this.#ncp(fsm.up(now), protocol, now);
      this.#ncp(fsm.open(now), protocol, now);
    }
  }

  #ncp(actions: readonly PppAction[], protocol: number, now: number): void {
    for (const a of actions) {
      if (a.type === 'send') this.#out.push({ type: 'send', protocol: a.protocol, packet: a.packet });
      else if (a.type === 'log') this.#out.push(a);
      else if (protocol === PppProtocol.CCP) this.#onCcpLayer(a, now);
      else if (protocol !== PppProtocol.IPCP) continue;
      else if (a.type === 'layer-up') this.#out.push({ type: 'network-up', ipv4: { ...this.ipcpHandler.negotiated } });
      else if (a.type === 'layer-down') this.#out.push({ type: 'network-down' });
      else if (a.type === 'layer-finished' && this.#phase === 'network') {
        this.#reason = `IPCP finished: ${a.why}`;
        this.#lcp(this.lcp.close(now, 'IPCP failed'), now);
      }
    }
  }

  /** CCP up: MPPE starts if both directions agreed; a required MPPE that did not ends the link. */
  #onCcpLayer(a: PppAction, now: number): void {
    if (a.type === 'layer-down') this.#mppe = undefined;
    const required = this.#options.mppe?.mode === 'require';
    if (a.type === 'layer-finished' && required && this.#phase === 'network') {
      this.#reason = `MPPE required: CCP finished (${a.why})`;
      this.#lcp(this.lcp.close(now, 'MPPE required'), now);
    }
    if (a.type !== 'layer-up') return;
    const { send, receive } = this.ccpHandler.negotiated;
    const keys = this.#mppeKeys;
    if (send && receive && keys) {
      this.#mppe = new MppeCiphers({ startKey: keys.send.reveal(), strength: send.strength, stateful: !send.stateless }, { startKey: keys.receive.reveal(), strength: receive.strength, stateful: !receive.stateless });
      this.#out.push({ type: 'log', level: 'info', msg: 'PPP: MPPE on', fields: { send: send.strength, receive: receive.strength } });
    } else if (required) {
      this.#reason = 'MPPE required: not agreed in both directions';
      this.#lcp(this.lcp.close(now, 'MPPE required'), now);
    }
  }

  #networkDown(now: number): void {
    for (const [fsm, protocol] of [[this.ipcp, PppProtocol.IPCP], [this.ccp, PppProtocol.CCP]] as const) if (fsm.state !== FsmState.Initial) this.#ncp(fsm.down(now), protocol, now);
  }

  #die(reason: string): void {
    if (this.#phase === 'dead') return;
    this.#phase = 'dead';
    this.#auth = undefined;
    this.#out.push({ type: 'dead', reason });
  }

  #drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  #flush(): ClientLinkAction[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
