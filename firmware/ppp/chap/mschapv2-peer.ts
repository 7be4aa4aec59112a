/*
 * MS-CHAPv2 (RFC 2759) on the dialling side: answer each Challenge with our NT-Response and a fresh
 * peer challenge, and accept the server's Success only when its authenticator response proves it
 * knows the password too (§5: otherwise the peer "MUST" end the connection).
 */
import { checkAuthenticatorResponse, generateNtResponse, getAsymmetricStartKey, getMasterKey, hashNtPasswordHash, mschapUserName, ntPasswordHash } from '../../crypto/mschapv2.ts';
import { mschapv2ServerHlak } from '../../sstp/crypto-binding.ts';
import { Secret } from '../../util/secret.ts';
import { PppProtocol } from '../frame.ts';
import type { PppAuthPeer } from '../client-link.ts';
import type { AuthStep } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import { authenticatorResponseOf, encodeMschapv2Response, parseFailureMessage } from './mschapv2-messages.ts';

export interface ChapPeerOptions {
  /** As sent in the Name field (a DOMAIN\\ prefix is allowed and left out of the hashes). */
  readonly user: string;
  readonly password: Secret<string>;
  readonly random: (n: number) => Uint8Array;
}

const NOTHING: AuthStep = { send: [] };

export class Mschapv2Peer implements PppAuthPeer {
  readonly protocol = PppProtocol.CHAP;
  readonly drops: Record<string, number> = {};
  readonly #o: ChapPeerOptions;
  #answered: { identifier: number; challenge: Uint8Array; peerChallenge: Uint8Array; ntResponse: Uint8Array; packet: Uint8Array } | undefined;
  #done = false;

  constructor(options: ChapPeerOptions) {
    this.#o = options;
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
      const a = this.#answered;
      if (a && a.identifier === p.identifier && Buffer.compare(a.challenge, p.value) === 0) return { send: [a.packet] }; // our Response was lost
      if (p.value.length !== 16) return this.#drop('MS-CHAPv2 challenges have 16 octets');
      const peerChallenge = Uint8Array.from(this.#o.random(16));
      const ntResponse = generateNtResponse(p.value, peerChallenge, mschapUserName(this.#o.user), this.#o.password);
      const out = encodeChapPacket({ code: ChapCode.Response, identifier: p.identifier, value: encodeMschapv2Response({ peerChallenge, ntResponse }), name: this.#o.user });
      this.#answered = { identifier: p.identifier, challenge: Uint8Array.from(p.value), peerChallenge, ntResponse, packet: out };
      return { send: [out] };
    }
    const a = this.#answered;
    if (!a || p.identifier !== a.identifier) return this.#drop('no Response with that identifier');
    this.#done = true;
    if (p.code === ChapCode.Failure) {
      const f = parseFailureMessage(p.message);
      return { send: [], outcome: { ok: false, reason: `the server refused us (E=${f.error}: ${f.message})` } };
    }
    if (p.code !== ChapCode.Success) return this.#drop(`code ${p.code} is for the authenticator`);
    const proof = authenticatorResponseOf(p.message) ?? '';
    if (!checkAuthenticatorResponse(this.#o.password, a.ntResponse, a.peerChallenge, a.challenge, mschapUserName(this.#o.user), proof)) {
      return { send: [], outcome: { ok: false, reason: 'the server did not prove it knows the password (bad S= in Success)' } };
    }
    const passwordHashHash = hashNtPasswordHash(ntPasswordHash(this.#o.password));
    // MPPE start keys (RFC 3079 §3.4) from the client's side: what PPTP's CCP turns on (client-link.ts).
    const masterKey = getMasterKey(passwordHashHash, a.ntResponse);
    const mppe = { send: new Secret(Uint8Array.from(getAsymmetricStartKey(masterKey, 16, true, false))), receive: new Secret(Uint8Array.from(getAsymmetricStartKey(masterKey, 16, false, false))) };
    return { send: [], outcome: { ok: true, user: this.#o.user, keys: { hlak: mschapv2ServerHlak(passwordHashHash, a.ntResponse), mppe } } };
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
