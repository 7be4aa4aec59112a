import { checkAuthenticatorResponse, eapMschapv2Msk, generateNtResponse } from '../../crypto/mschapv2.ts';
import type { Secret } from '../../util/secret.ts';
import { EapCode, EapType, type EapPacket } from './eap-packet.ts';
import { decodeMschap, encodeMschap, MschapOpCode } from './mschapv2-packets.ts';

export type EapClientStep =
  | { readonly status: 'continue'; readonly send: EapPacket }
  | { readonly status: 'success'; readonly msk: Buffer }
  | { readonly status: 'failure'; readonly reason: string };

/**
 * The client side of EAP-Identity + EAP-MSCHAPv2, for Postern as a remote-access client and for
 * two-engine tests. The server's authenticator response is checked before success (mutual auth).
 */
export class EapMschapv2Client {
  readonly #identity: string;
  readonly #password: Secret<string>;
  readonly #random: (n: number) => Uint8Array;
  #ntResponse: Uint8Array | undefined;
  #peerChallenge: Uint8Array = new Uint8Array();
  #challenge: Uint8Array = new Uint8Array();
  #serverVerified = false;

  constructor(identity: string, password: Secret<string>, random: (n: number) => Uint8Array) {
    this.#identity = identity;
    this.#password = password;
    this.#random = random;
  }

  receive(p: EapPacket): EapClientStep {
    if (p.code === EapCode.SUCCESS) {
      return this.#serverVerified && this.#ntResponse ? { status: 'success', msk: eapMschapv2Msk(this.#password, this.#ntResponse) } : { status: 'failure', reason: 'EAP Success before the server proved it knows the password' };
    }
    if (p.code === EapCode.FAILURE) return { status: 'failure', reason: 'the server sent EAP Failure' };
    const reply = (type: number, data: Uint8Array): EapClientStep => ({ status: 'continue', send: { code: EapCode.RESPONSE, identifier: p.identifier, type, data } });
    if (p.type === EapType.IDENTITY) return reply(EapType.IDENTITY, Buffer.from(this.#identity, 'utf8'));
    if (p.type !== EapType.MSCHAPV2) return reply(EapType.NAK, Uint8Array.of(EapType.MSCHAPV2));
    const m = decodeMschap(p.data);
    if (!m.ok || 'ack' in m.value) return { status: 'failure', reason: 'malformed MS-CHAPv2 request' };
    const v = m.value;
    if (v.op === MschapOpCode.CHALLENGE) {
      this.#challenge = v.challenge;
      this.#peerChallenge = this.#random(16);
      this.#ntResponse = generateNtResponse(v.challenge, this.#peerChallenge, this.#identity, this.#password);
      return reply(EapType.MSCHAPV2, encodeMschap({ op: MschapOpCode.RESPONSE, id: v.id, peerChallenge: this.#peerChallenge, ntResponse: this.#ntResponse, name: this.#identity }));
    }
    if (v.op === MschapOpCode.SUCCESS && this.#ntResponse) {
      const authenticator = v.message.split(' ')[0] ?? '';
      if (!checkAuthenticatorResponse(this.#password, this.#ntResponse, this.#peerChallenge, this.#challenge, this.#identity, authenticator)) return { status: 'failure', reason: 'the server could not prove it knows the password' };
      this.#serverVerified = true;
      return reply(EapType.MSCHAPV2, encodeMschap({ op: MschapOpCode.SUCCESS, ack: true }));
    }
    return { status: 'failure', reason: `MS-CHAPv2 ${v.op === MschapOpCode.FAILURE ? `failure: ${v.message}` : 'request out of turn'}` };
  }
}
