/*
 * MS-CHAPv1 (RFC 2433) on the gateway, as CHAP algorithm 0x80: a Challenge with 8 random octets; the
 * peer's NT-Response is checked by the listener's `PasswordVerifier` (auth/: local users from the NT
 * hash, RADIUS with MS-CHAP-Challenge and MS-CHAP-Response, or RADIUS then local). Offered only where
 * a listener allows legacy methods: v1 has no mutual authentication and its responses can be cracked
 * offline. A peer that sends only a LAN Manager response (the "use NT" flag clear) is refused.
 *
 * Success carries free text (v1 has no authenticator response), Failure "E=691 R=0" or RADIUS's error
 * number. The outcome's MPPE keys (RFC 3079 §2.3: one start key, the same both ways) come from the
 * verdict; an Accept without them leaves MPPE unkeyed, and a link that requires MPPE ends, saying so.
 * Retransmission and late verdicts as for CHAP-MD5 and MS-CHAPv2 (RFC 1994 §4.1).
 */
import type { PasswordVerification, PasswordVerifier } from '../../auth/password-verifier.ts';
import { MSCHAPV1_CHALLENGE_LENGTH } from '../../crypto/mschapv1.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import { decodeMschapv1Response, encodeMschapv1Failure } from './mschapv1-messages.ts';

export interface Mschapv1AuthenticatorOptions {
  /** The Name field of our Challenge (the gateway's host name). */
  readonly serverName: string;
  readonly verifier: PasswordVerifier;
  readonly random: (n: number) => Uint8Array;
  /** Asks the shell to run the link's tick soon: a verdict that came later is ready. */
  readonly wake?: () => void;
  readonly restartMs?: number;
  readonly maxChallenges?: number;
}

const NOTHING: AuthStep = { send: [] };
const AUTHENTICATION_FAILURE = 691;

export class Mschapv1Authenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  /** Packets ignored, by reason (a stale identifier, a malformed packet, a code for peers). */
  readonly drops: Record<string, number> = {};
  readonly #o: Mschapv1AuthenticatorOptions;
  #identifier = 0;
  #challenge = new Uint8Array(0);
  #sent = 0;
  #due: number | undefined;
  #verifying = false;
  /** A verdict that came later, waiting for the next tick. */
  #ready: AuthStep | undefined;
  /** Once decided: the packet to repeat if the same Response comes again. */
  #verdict: Uint8Array | undefined;

  constructor(options: Mschapv1AuthenticatorOptions) {
    this.#o = options;
  }

  start(now: number): AuthStep {
    this.#identifier = (this.#o.random(1)[0] ?? 0) & 0xff;
    this.#challenge = Uint8Array.from(this.#o.random(MSCHAPV1_CHALLENGE_LENGTH));
    return { send: [this.#challengePacket(now)] };
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.error.message}`);
    const p = decoded.value;
    if (p.code !== ChapCode.Response) return this.#drop(`code ${p.code} is for the peer`);
    if (p.identifier !== this.#identifier) return this.#drop('stale identifier');
    if (this.#verdict) return { send: [this.#verdict] };
    if (this.#verifying) return this.#drop('verification under way');
    this.#due = undefined;
    const response = decodeMschapv1Response(p.value);
    if (!response.ok) return this.#decide(refused(p.name, 'malformed MS-CHAPv1 response'));
    if (!response.value.useNt) return this.#decide(refused(p.name, 'a LAN Manager response only (not accepted: use NT)'));
    let verdict: PasswordVerification | Promise<PasswordVerification>;
    try {
      verdict = this.#o.verifier.verify({ method: 'mschapv1', userName: p.name, identifier: this.#identifier, challenge: this.#challenge, ntResponse: response.value.ntResponse });
    } catch (error) {
      verdict = refused(p.name, `verifier failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!(verdict instanceof Promise)) return this.#decide(verdict);
    this.#verifying = true;
    verdict.then((v) => this.#settle(v), (error: unknown) => this.#settle(refused(p.name, `verifier failed: ${error instanceof Error ? error.message : String(error)}`)));
    return NOTHING;
  }

  tick(now: number): AuthStep {
    if (this.#ready) {
      const step = this.#ready;
      this.#ready = undefined;
      return step;
    }
    if (this.#due === undefined || now < this.#due) return NOTHING;
    if (this.#sent >= (this.#o.maxChallenges ?? 10)) {
      this.#due = undefined;
      return { send: [], outcome: { ok: false, reason: `no response to ${this.#sent} challenges` } };
    }
    return { send: [this.#challengePacket(now)] };
  }

  nextTimeout(): number | undefined {
    return this.#ready ? 0 : this.#due;
  }

  #settle(v: PasswordVerification): void {
    this.#ready = this.#decide(v);
    this.#o.wake?.();
  }

  #decide(v: PasswordVerification): AuthStep {
    this.#verifying = false;
    if (!v.ok) {
      this.#verdict = encodeChapPacket({ code: ChapCode.Failure, identifier: this.#identifier, message: encodeMschapv1Failure(v.error ?? AUTHENTICATION_FAILURE) });
      return { send: [this.#verdict], outcome: { ok: false, user: v.user, reason: v.source === 'local' ? v.reason : `${v.reason} (${v.source})` } };
    }
    this.#verdict = encodeChapPacket({ code: ChapCode.Success, identifier: this.#identifier, message: 'Welcome' });
    return { send: [this.#verdict], outcome: { ok: true, user: v.user, ...(v.mppe ? { keys: { mppe: v.mppe } } : {}), ...(v.authorization ? { authorization: v.authorization } : {}) } };
  }

  #challengePacket(now: number): Uint8Array {
    this.#sent++;
    this.#due = now + (this.#o.restartMs ?? 3000);
    return encodeChapPacket({ code: ChapCode.Challenge, identifier: this.#identifier, value: this.#challenge, name: this.#o.serverName });
  }

  #drop(reason: string): AuthStep {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return NOTHING;
  }
}

function refused(user: string, reason: string): PasswordVerification {
  return { ok: false, user, source: 'local', reason, noServer: false };
}
