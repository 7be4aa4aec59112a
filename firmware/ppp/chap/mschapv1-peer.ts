/*
 * MS-CHAPv1 (RFC 2433) on the dialling side, only where a dialler is told to use it: answer each
 * 8-octet Challenge with our NT-Response ("use NT", no LAN Manager response). v1 gives the peer no
 * proof that the server knows the password: a Success is taken as it comes. The MPPE start key
 * (RFC 3079 §2.3) is the same for both directions.
 */
import { MSCHAPV1_CHALLENGE_LENGTH, mschapv1StartKeyOf, ntChallengeResponse } from '../../crypto/mschapv1.ts';
import { Secret } from '../../util/secret.ts';
import type { PppAuthPeer } from '../client-link.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import { encodeMschapv1Response } from './mschapv1-messages.ts';
import { parseFailureMessage } from './mschapv2-messages.ts';

const NOTHING: AuthStep = { send: [] };

export class Mschapv1Peer implements PppAuthPeer {
  readonly protocol = PppProtocol.CHAP;
  readonly drops: Record<string, number> = {};
  readonly #user: string;
  readonly #password: Secret<string>;
  #answered: { identifier: number; challenge: Uint8Array; packet: Uint8Array } | undefined;
  #done = false;

  /** `user` as sent in the Name field (a DOMAIN\\ prefix is fine: v1 does not hash the name). */
  constructor(user: string, password: Secret<string>) {
    this.#user = user;
    this.#password = password;
  }

  start(): AuthStep {
    return NOTHING; // the authenticator speaks first
  }

  receive(packet: Uint8Array): AuthStep {
    if (this.#done) return this.#drop('after the outcome');
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.error.message}`);
    const p = decoded.value;
    if (p.code === ChapCode.Challenge) {
      if (p.value.length !== MSCHAPV1_CHALLENGE_LENGTH) return this.#drop('MS-CHAPv1 challenges have 8 octets');
      // A repeated Challenge (our Response was lost) gets the same Response; a new one a new Response.
      const a = this.#answered;
      if (a && a.identifier === p.identifier && Buffer.compare(a.challenge, p.value) === 0) return { send: [a.packet] };
      const response = encodeMschapv1Response(ntChallengeResponse(p.value, this.#password));
      const out = encodeChapPacket({ code: ChapCode.Response, identifier: p.identifier, value: response, name: this.#user });
      this.#answered = { identifier: p.identifier, challenge: Uint8Array.from(p.value), packet: out };
      return { send: [out] };
    }
    const a = this.#answered;
    if (!a || p.identifier !== a.identifier) return this.#drop('no Response with that identifier');
    if (p.code !== ChapCode.Success && p.code !== ChapCode.Failure) return this.#drop(`code ${p.code} is for the authenticator`);
    this.#done = true;
    if (p.code === ChapCode.Failure) {
      const f = parseFailureMessage(p.message);
      return { send: [], outcome: { ok: false, reason: `the server refused us (E=${f.error})` } };
    }
    const start = new Secret(Uint8Array.from(mschapv1StartKeyOf(this.#password, a.challenge)));
    return { send: [], outcome: { ok: true, user: this.#user, keys: { mppe: { send: start, receive: start } } } };
  }

  tick(): AuthStep {
    return NOTHING; // RFC 1994: the authenticator retransmits, the peer only answers
  }

  nextTimeout(): number | undefined {
    return undefined;
  }

  #drop(reason: string): AuthStep {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return NOTHING;
  }
}
