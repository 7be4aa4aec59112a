/*
 * What every dialed PPP call has, whatever carries it (SSTP, L2TP, PPTP): the link that logs in as a user
 * of the other gateway (MS-CHAPv2, or EAP-MSCHAPv2 where the server asks for EAP, or MS-CHAPv1 only
 * when told: a legacy server that knows nothing newer), and the call's
 * outcome, ready once IPCP is open and closed with the reason once over.
 */
import { randomBytes } from 'node:crypto';
import type { Secret } from '../util/secret.ts';
import { Mschapv1Peer } from './chap/mschapv1-peer.ts';
import { Mschapv2Peer } from './chap/mschapv2-peer.ts';
import { PppClientLink, type PppAuthPeer } from './client-link.ts';
import { PppEapPeer } from './eap/ppp-eap-peer.ts';
import type { IpcpNegotiated } from './ipcp.ts';
import type { MppePolicy } from './mppe/mppe-option.ts';

export interface DialingLinkOptions {
  readonly user: string;
  readonly password: Secret<string>;
  /** The one method answered (as Windows' site-to-site does): MS-CHAPv2 unless told EAP or MS-CHAPv1. */
  readonly auth?: 'mschapv2' | 'eap' | 'mschapv1';
  readonly mru?: number;
  readonly askDns: boolean;
  /** PPTP: MPPE over CCP (client-link.ts). */
  readonly mppe?: MppePolicy;
}

/** A dialing link that answers one login method and sends LCP echoes every 30 s. */
export function dialingLink(o: DialingLinkOptions): PppClientLink {
  const random = (n: number) => new Uint8Array(randomBytes(n));
  const auth = o.auth ?? 'mschapv2';
  return new PppClientLink({
    lcp: { random, acceptAuth: [auth], echoIntervalMs: 30_000, ...(o.mru ? { mru: o.mru } : {}) },
    createAuthPeer: (m) => (m !== auth ? undefined : authPeer(m, o, random)),
    askDns: o.askDns,
    ...(o.mppe ? { mppe: o.mppe } : {}),
  });
}

function authPeer(method: 'mschapv2' | 'eap' | 'mschapv1', o: DialingLinkOptions, random: (n: number) => Uint8Array): PppAuthPeer {
  if (method === 'mschapv1') return new Mschapv1Peer(o.user, o.password);
  return method === 'mschapv2' ? new Mschapv2Peer({ user: o.user, password: o.password, random }) : new PppEapPeer(o.user, o.password, random);
}

export class PppCallOutcome {
  /** Resolves with the addresses IPCP agreed once the call is up; rejects if it never gets there. */
  readonly ready: Promise<Readonly<IpcpNegotiated>>;
  /**
   * Resolves with the reason once the call is over: the first failure before the call was up when there
   * was one (an authentication refused), not what the teardown ended on (the server's disconnect may
   * arrive before our own PPP finishes closing, and a Test must still say the login was refused).
   */
  readonly closed: Promise<string>;
  readonly up: (ipv4: Readonly<IpcpNegotiated>) => void;
  readonly fail: (error: Error) => void;
  readonly close: (reason: string) => void;

  constructor() {
    let up!: (ipv4: Readonly<IpcpNegotiated>) => void;
    let fail!: (error: Error) => void;
    let close!: (reason: string) => void;
    let settled = false;
    let firstFailure: string | undefined;
    this.ready = new Promise((resolve, reject) => {
      up = (ipv4) => ((settled = true), resolve(ipv4));
      fail = (error) => {
        if (!settled) [settled, firstFailure] = [true, error.message];
        reject(error);
      };
    });
    this.ready.catch(() => undefined);
    this.closed = new Promise((resolve) => (close = (reason) => resolve(firstFailure ?? reason)));
    [this.up, this.fail, this.close] = [up, fail, close];
  }
}
