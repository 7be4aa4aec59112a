/*
 * MS-CHAPv2 (RFC 2759) as CHAP algorithm 0x81 on the gateway, with the Response checked by an
 * `Mschapv2Verifier` (local users, RADIUS, or RADIUS then local) instead of in place. A RADIUS
 * answer takes time, so the verdict comes back later: the authenticator keeps it until the link's
 * next tick and asks its shell (`wake`) to tick now. While the verdict is awaited, the Challenge
 * is no longer resent and a repeated Response is dropped; once decided, a repeated Response gets
 * the same Success or Failure again (RFC 1994 §4.1: ours may have been lost).
 */
import { Secret } from '../util/secret.ts';
import { PppProtocol } from '../ppp/frame.ts';
import type { AuthStep, PppAuthenticator } from '../ppp/link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from '../ppp/chap/chap-packet.ts';
import { CHALLENGE_LENGTH, decodeMschapv2Response, encodeFailureMessage } from '../ppp/chap/mschapv2-messages.ts';
import type { Mschapv2Verification, Mschapv2Verifier } from './mschapv2-verifier.ts';

export interface VerifiedMschapv2Options {
  readonly serverName: string;
  readonly verifier: Mschapv2Verifier;
  readonly random: (n: number) => Uint8Array;
  /** Asks the shell to run the link's tick soon: a verdict is ready. */
  readonly wake: () => void;
  readonly restartMs?: number;
  readonly maxChallenges?: number;
}

const NOTHING: AuthStep = { send: [] };

export class VerifiedMschapv2Authenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  readonly drops: Record<string, number> = {};
  readonly #o: VerifiedMschapv2Options;
  #identifier = 0;
  #challenge = new Uint8Array(0);
  #sent = 0;
  #due: number | undefined;
  #verifying = false;
  /** A verdict waiting for the next tick. */
  #ready: AuthStep | undefined;
  #verdict: Uint8Array | undefined;

  constructor(options: VerifiedMschapv2Options) {
    this.#o = options;
  }

  start(now: number): AuthStep {
    this.#identifier = (this.#o.random(1)[0] ?? 0) & 0xff;
    this.#challenge = Uint8Array.from(this.#o.random(CHALLENGE_LENGTH));
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
    const response = decodeMschapv2Response(p.value);
    if (!response.ok) {
      this.#ready = this.#decide({ ok: false, user: p.name, source: 'local', reason: 'malformed MS-CHAPv2 response', error: 691, noServer: false });
      return this.#takeReady();
    }
    this.#verifying = true;
    const attempt = { userName: p.name, authenticatorChallenge: this.#challenge, ident: p.identifier, peerChallenge: response.value.peerChallenge, ntResponse: response.value.ntResponse };
    this.#o.verifier.verify(attempt).then(
      (v) => this.#settle(v),
      (error: unknown) => this.#settle({ ok: false, user: p.name, source: 'local', reason: `verifier failed: ${error instanceof Error ? error.message : String(error)}`, error: 691, noServer: false }),
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
    this.#o.wake();
  }

  #decide(v: Mschapv2Verification): AuthStep {
    this.#verifying = false;
    if (!v.ok) {
      this.#verdict = encodeChapPacket({ code: ChapCode.Failure, identifier: this.#identifier, message: encodeFailureMessage(v.error, this.#o.random(CHALLENGE_LENGTH), 'Authentication failure') });
      return { send: [this.#verdict], outcome: { ok: false, user: v.user, reason: `${v.reason} (${v.source})` } };
    }
    this.#verdict = encodeChapPacket({ code: ChapCode.Success, identifier: this.#identifier, message: `${v.authenticatorResponse} M=Welcome` });
    // [MS-SSTP] §3.2.5.2: HLAK = MasterReceiveKey | MasterSendKey, from the server's side.
    const hlak = new Secret(Uint8Array.from(Buffer.concat([v.recvKey.reveal(), v.sendKey.reveal()])));
    return { send: [this.#verdict], outcome: { ok: true, user: v.user, keys: { hlak, mppe: { send: v.sendKey, receive: v.recvKey } } } };
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
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return NOTHING;
  }
}
