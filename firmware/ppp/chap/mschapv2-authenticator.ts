/*
 * MS-CHAPv2 (RFC 2759) on the gateway, as CHAP algorithm 0x81 (RFC 1994 §4 packets): a Challenge
 * with 16 random octets; the peer's Response is checked by an `Mschapv2Verifier` (auth/: the local
 * users, a RADIUS server, or RADIUS then local users), so every listener and every user source run
 * this one code path. Success carries the verifier's authenticator response (mutual authentication,
 * §5), Failure its error (E=691 with no retry by default).
 *
 * The local verifier answers at once; RADIUS answers later: the authenticator then keeps the
 * verdict until the link's next tick and asks its shell (`wake`) to tick now. While a verdict is
 * awaited the Challenge is no longer resent and a repeated Response is dropped; once decided, a
 * repeated Response gets the same Success or Failure again (RFC 1994 §4.1: ours may have been lost).
 * The Challenge is resent every 3 s, 10 times at most (RFC 1994 §4.1: the authenticator retransmits).
 */
import type { Mschapv2Verification, Mschapv2Verifier } from '../../auth/mschapv2-verifier.ts';
import { Secret } from '../../util/secret.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import { CHALLENGE_LENGTH, decodeMschapv2Response, encodeFailureMessage, MschapError } from './mschapv2-messages.ts';
import { countInto, NOTHING_COUNTED } from '../../util/lazy-counts.ts';

export interface Mschapv2AuthenticatorOptions {
  /** The Name field of our Challenge (the gateway's host name). */
  readonly serverName: string;
  readonly verifier: Mschapv2Verifier;
  readonly random: (n: number) => Uint8Array;
  /** Asks the shell to run the link's tick soon: a verdict that came later is ready. */
  readonly wake?: () => void;
  readonly restartMs?: number;
  readonly maxChallenges?: number;
}

const NOTHING: AuthStep = { send: [] };
/** Before start(): one empty array for every authenticator (never written to). */
const NO_CHALLENGE = new Uint8Array(0);

export class Mschapv2Authenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  /** Packets ignored, by reason (a stale identifier, a malformed value, a code for peers). */
  #drops: Record<string, number> | undefined;
  readonly #o: Mschapv2AuthenticatorOptions;
  #identifier = 0;
  #challenge = NO_CHALLENGE;
  #sent = 0;
  #due: number | undefined;
  #verifying = false;
  /** A verdict that came later, waiting for the next tick. */
  #ready: AuthStep | undefined;
  /** Once decided: the packet to repeat if the same Response comes again. */
  #verdict: Uint8Array | undefined;

  /** Dropped, by reason (made at the first drop). */
  get drops(): Readonly<Record<string, number>> {
    return this.#drops ?? NOTHING_COUNTED;
  }

  constructor(options: Mschapv2AuthenticatorOptions) {
    this.#o = options;
  }

  start(now: number): AuthStep {
    this.#identifier = (this.#o.random(1)[0] ?? 0) & 0xff;
    this.#challenge = Uint8Array.from(this.#o.random(CHALLENGE_LENGTH));
    return { send: [this.#challengePacket(now)] };
  }

  receive(packet: Uint8Array, now?: number): AuthStep {
    void now;
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.error.message}`);
    const p = decoded.value;
    if (p.code !== ChapCode.Response) return this.#drop(`code ${p.code} is for the peer`);
    if (p.identifier !== this.#identifier) return this.#drop('stale identifier');
    if (this.#verdict) return { send: [this.#verdict] };
    if (this.#verifying) return this.#drop('verification under way');
    this.#due = undefined;
    const response = decodeMschapv2Response(p.value);
    if (!response.ok) return this.#decide(refused(p.name, 'malformed MS-CHAPv2 response'));
    const attempt = { userName: p.name, authenticatorChallenge: this.#challenge, ident: p.identifier, peerChallenge: response.value.peerChallenge, ntResponse: response.value.ntResponse };
    let verdict: Mschapv2Verification | Promise<Mschapv2Verification>;
    try {
      verdict = this.#o.verifier.verify(attempt);
    } catch (error) {
      verdict = refused(p.name, `verifier failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!(verdict instanceof Promise)) return this.#decide(verdict);
    this.#verifying = true;
    verdict.then(
      (v) => this.#settle(v),
      (error: unknown) => this.#settle(refused(p.name, `verifier failed: ${error instanceof Error ? error.message : String(error)}`)),
    );
    return NOTHING;
  }

  tick(now: number): AuthStep {
    if (this.#ready) return this.#takeReady();
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

  #settle(v: Mschapv2Verification): void {
    this.#ready = this.#decide(v);
    this.#o.wake?.();
  }

  #decide(v: Mschapv2Verification): AuthStep {
    this.#verifying = false;
    if (!v.ok) {
      this.#verdict = encodeChapPacket({ code: ChapCode.Failure, identifier: this.#identifier, message: encodeFailureMessage(v.error, this.#o.random(CHALLENGE_LENGTH), 'Authentication failure') });
      return { send: [this.#verdict], outcome: { ok: false, user: v.user, reason: v.source === 'local' ? v.reason : `${v.reason} (${v.source})` } };
    }
    this.#verdict = encodeChapPacket({ code: ChapCode.Success, identifier: this.#identifier, message: `${v.authenticatorResponse} M=Welcome` });
    // [MS-SSTP] §3.2.5.2: HLAK = MasterReceiveKey | MasterSendKey, from the server's side.
    const hlak = new Secret(Uint8Array.from(Buffer.concat([v.recvKey.reveal(), v.sendKey.reveal()])));
    return { send: [this.#verdict], outcome: { ok: true, user: v.user, keys: { hlak, mppe: { send: v.sendKey, receive: v.recvKey } }, ...(v.authorization ? { authorization: v.authorization } : {}) } };
  }

  #takeReady(): AuthStep {
    const step = this.#ready ?? NOTHING;
    this.#ready = undefined;
    return step;
  }

  #challengePacket(now: number): Uint8Array {
    this.#sent++;
    this.#due = now + (this.#o.restartMs ?? 3000);
    return encodeChapPacket({ code: ChapCode.Challenge, identifier: this.#identifier, value: this.#challenge, name: this.#o.serverName });
  }

  #drop(reason: string): AuthStep {
    this.#drops = countInto(this.#drops, reason);
    return NOTHING;
  }
}

function refused(user: string, reason: string): Mschapv2Verification {
  return { ok: false, user, source: 'local', reason, error: MschapError.AuthenticationFailure, noServer: false };
}
