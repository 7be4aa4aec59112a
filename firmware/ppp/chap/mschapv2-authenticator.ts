/*
 * MS-CHAPv2 (RFC 2759) on the gateway, as CHAP algorithm 0x81 (RFC 1994 §4 packets): a Challenge
 * with 16 random octets, the peer's Response checked against the local user's password, Success
 * carrying our authenticator response (mutual authentication, §5) or Failure E=691 with no retry.
 * The Challenge is resent every 3 s, 10 times at most (RFC 1994 §4.1: the authenticator retransmits);
 * a repeated Response to the same Challenge gets the same verdict again (its Success may have been lost).
 */
import { generateAuthenticatorResponse, generateNtResponse, hashNtPasswordHash, mschapUserName, ntPasswordHash } from '../../crypto/mschapv2.ts';
import { getAsymmetricStartKey, getMasterKey } from '../../crypto/mschapv2.ts';
import { mschapv2ServerHlak } from '../../sstp/crypto-binding.ts';
import type { UserLookup } from '../../crypto/user-credential.ts';
import { Secret as SecretBox } from '../../util/secret.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthOutcome, AuthStep, PppAuthenticator } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import { CHALLENGE_LENGTH, decodeMschapv2Response, encodeFailureMessage, MschapError } from './mschapv2-messages.ts';
import { timingSafeEqual } from 'node:crypto';

export interface ChapAuthenticatorOptions {
  /** The Name field of our Challenge (the gateway's host name). */
  readonly serverName: string;
  readonly users: UserLookup;
  readonly random: (n: number) => Uint8Array;
  readonly restartMs?: number;
  readonly maxChallenges?: number;
}

const NOTHING: AuthStep = { send: [] };

export class Mschapv2Authenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.CHAP;
  /** Packets ignored, by reason (a stale identifier, a malformed value, a code for peers). */
  readonly drops: Record<string, number> = {};
  readonly #o: ChapAuthenticatorOptions;
  #identifier = 0;
  #challenge = new Uint8Array(0);
  #sent = 0;
  #due: number | undefined;
  /** Once decided: the packet to repeat if the same Response comes again. */
  #verdict: Uint8Array | undefined;

  constructor(options: ChapAuthenticatorOptions) {
    this.#o = options;
  }

  start(now: number): AuthStep {
    this.#identifier = (this.#o.random(1)[0] ?? 0) & 0xff;
    this.#challenge = Uint8Array.from(this.#o.random(CHALLENGE_LENGTH));
    return { send: [this.#challengePacket(now)] };
  }

  receive(packet: Uint8Array, now: number): AuthStep {
    void now;
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.error.message}`);
    const p = decoded.value;
    if (p.code !== ChapCode.Response) return this.#drop(`code ${p.code} is for the peer`);
    if (p.identifier !== this.#identifier) return this.#drop('stale identifier');
    if (this.#verdict) return { send: [this.#verdict] };
    this.#due = undefined;
    const response = decodeMschapv2Response(p.value);
    if (!response.ok) return this.#fail(p.name, 'malformed MS-CHAPv2 response');
    const user = mschapUserName(p.name);
    // The stored NT hash is all RFC 2759 §8 needs: the response, the authenticator response and MPPE keys.
    const password = this.#o.users(user);
    // Unknown users and wrong passwords get the same answer and the same work (no user enumeration).
    const expected = generateNtResponse(this.#challenge, response.value.peerChallenge, user, password ?? '\u0000no such user');
    if (!password || !timingSafeEqual(expected, Buffer.from(response.value.ntResponse))) return this.#fail(user, password ? 'wrong password' : 'unknown user');
    const authenticatorResponse = generateAuthenticatorResponse(password, response.value.ntResponse, response.value.peerChallenge, this.#challenge, user);
    this.#verdict = encodeChapPacket({ code: ChapCode.Success, identifier: this.#identifier, message: `${authenticatorResponse} M=Welcome` });
    const passwordHashHash = hashNtPasswordHash(ntPasswordHash(password));
    const masterKey = getMasterKey(passwordHashHash, response.value.ntResponse);
    const outcome: AuthOutcome = {
      ok: true,
      user,
      keys: {
        hlak: mschapv2ServerHlak(passwordHashHash, response.value.ntResponse),
        mppe: { send: new SecretBox(Uint8Array.from(getAsymmetricStartKey(masterKey, 16, true, true))), receive: new SecretBox(Uint8Array.from(getAsymmetricStartKey(masterKey, 16, false, true))) },
      },
    };
    return { send: [this.#verdict], outcome };
  }

  tick(now: number): AuthStep {
    if (this.#due === undefined || now < this.#due) return NOTHING;
    if (this.#sent >= (this.#o.maxChallenges ?? 10)) {
      this.#due = undefined;
      return { send: [], outcome: { ok: false, reason: `no response to ${this.#sent} challenges` } };
    }
    return { send: [this.#challengePacket(now)] };
  }

  nextTimeout(): number | undefined {
    return this.#due;
  }

  #challengePacket(now: number): Uint8Array {
    this.#sent++;
    this.#due = now + (this.#o.restartMs ?? 3000);
    return encodeChapPacket({ code: ChapCode.Challenge, identifier: this.#identifier, value: this.#challenge, name: this.#o.serverName });
  }

  #fail(user: string, reason: string): AuthStep {
    const next = this.#o.random(CHALLENGE_LENGTH);
    this.#verdict = encodeChapPacket({ code: ChapCode.Failure, identifier: this.#identifier, message: encodeFailureMessage(MschapError.AuthenticationFailure, next, 'Authentication failure') });
    return { send: [this.#verdict], outcome: { ok: false, user, reason } };
  }

  #drop(reason: string): AuthStep {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return NOTHING;
  }
}
