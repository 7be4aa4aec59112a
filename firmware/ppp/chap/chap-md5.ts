/*
 * CHAP with MD5 (RFC 1994, algorithm 5): Response = MD5(Identifier | secret | Challenge) (§4.1).
 * Offered only when configured: it makes no keys (SSTP binds with a zero HLAK, PPTP cannot encrypt)
 * and a captured exchange can be brute-forced offline. The gateway's side is a `ChapVerdictAuthenticator`
 * (the Response checked by a `PasswordVerifier`: local users, RADIUS with CHAP-Password and CHAP-Challenge,
 * or RADIUS then local).
 */
import { chapMd5Response } from '../../crypto/chap-md5.ts';
import type { Secret } from '../../util/secret.ts';
import type { PppAuthPeer } from '../client-link.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep } from '../link.ts';
import { ChapCode, decodeChapPacket, encodeChapPacket } from './chap-packet.ts';
import { ChapVerdictAuthenticator, type ChapVerdictMethod, type ChapVerdictOptions } from './chap-verdict-authenticator.ts';

export { chapMd5Response };

export type ChapMd5AuthenticatorOptions = ChapVerdictOptions;

const CHAP_MD5: ChapVerdictMethod = {
  challengeLength: 16,
  attempt: ({ name, value }, identifier, challenge) => ({ method: 'chap-md5', userName: name, identifier, challenge, response: value }),
  failureMessage: () => 'Authentication failure',
  keyed: false,
};

export class ChapMd5Authenticator extends ChapVerdictAuthenticator {
  constructor(options: ChapMd5AuthenticatorOptions) {
    super(CHAP_MD5, options);
  }
}

export class ChapMd5Peer implements PppAuthPeer {
  readonly protocol = PppProtocol.CHAP;
  readonly #user: string;
  readonly #secret: Secret<string>;
  #identifier = -1;
  #done = false;

  constructor(user: string, secret: Secret<string>) {
    this.#user = user;
    this.#secret = secret;
  }

  start(): AuthStep {
    return { send: [] };
  }

  receive(packet: Uint8Array): AuthStep {
    const decoded = decodeChapPacket(packet);
    if (!decoded.ok || this.#done) return { send: [] };
    const p = decoded.value;
    if (p.code === ChapCode.Challenge) {
      this.#identifier = p.identifier;
      return { send: [encodeChapPacket({ code: ChapCode.Response, identifier: p.identifier, value: chapMd5Response(p.identifier, this.#secret, p.value), name: this.#user })] };
    }
    if (p.identifier !== this.#identifier) return { send: [] };
    this.#done = true;
    return p.code === ChapCode.Success ? { send: [], outcome: { ok: true, user: this.#user } } : { send: [], outcome: { ok: false, reason: 'the server refused us' } };
  }

  tick(): AuthStep {
    return { send: [] };
  }

  nextTimeout(): number | undefined {
    return undefined;
  }
}
