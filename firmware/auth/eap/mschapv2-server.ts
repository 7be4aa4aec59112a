import { timingSafeEqual } from 'node:crypto';
import { eapMschapv2Msk, generateAuthenticatorResponse, generateNtResponse } from '../../crypto/mschapv2.ts';
import { EapCode, EapType, type EapPacket } from './eap-packet.ts';
import { decodeMschap, encodeMschap, MschapOpCode } from './mschapv2-packets.ts';

/** The local users, by name: their NT password hashes, all MS-CHAPv2 needs (RFC 2759 §8). */
export type { UserLookup } from '../../crypto/user-credential.ts';
import type { UserLookup } from '../../crypto/user-credential.ts';

export type EapStep =
  | { readonly status: 'continue'; readonly send: EapPacket }
  | { readonly status: 'success'; readonly send: EapPacket; readonly identity: string; readonly msk: Buffer }
  | { readonly status: 'failure'; readonly send: EapPacket; readonly reason: string; readonly identity?: string };

/**
 * The gateway's EAP server inside IKE_AUTH (RFC 7296 §2.16): EAP-Identity, then EAP-MSCHAPv2
 * (draft-kamath-pppext-eap-mschapv2) against the local users. Sans-I/O: packets in, packets out;
 * the challenge comes from the injected random source.
 */
export class EapMschapv2Server {
  readonly #users: UserLookup;
  readonly #random: (n: number) => Uint8Array;
  readonly #serverName: string;
  #state: 'identity' | 'challenge' | 'success-sent' | 'done' = 'identity';
  #id = 0;
  #identity = '';
  #challenge: Uint8Array = new Uint8Array();
  #msk: Buffer | undefined;

  constructor(users: UserLookup, random: (n: number) => Uint8Array, serverName: string) {
    this.#users = users;
    this.#random = random;
    this.#serverName = serverName;
  }

  start(): EapPacket {
    this.#id = this.#random(1)[0] ?? 1;
    return { code: EapCode.REQUEST, identifier: this.#id, type: EapType.IDENTITY, data: new Uint8Array() };
  }

  receive(p: EapPacket): EapStep {
    if (p.code !== EapCode.RESPONSE || p.identifier !== this.#id) return this.#fail(`unexpected EAP packet (code ${p.code}, id ${p.identifier})`);
    if (this.#state === 'identity') return this.#onIdentity(p);
    if (p.type === EapType.NAK) return this.#fail(`'${this.#identity}' refused EAP-MSCHAPv2`);
    if (p.type !== EapType.MSCHAPV2) return this.#fail(`EAP type ${p.type} where MSCHAPv2 was expected`);
    const m = decodeMschap(p.data);
    if (!m.ok) return this.#fail(`malformed MS-CHAPv2: ${m.error.message}`);
    if (this.#state === 'challenge' && m.value.op === MschapOpCode.RESPONSE && !('ack' in m.value)) return this.#onResponse(m.value.peerChallenge, m.value.ntResponse);
    if (this.#state === 'success-sent' && 'ack' in m.value && m.value.op === MschapOpCode.SUCCESS) {
      this.#state = 'done';
      return { status: 'success', send: { code: EapCode.SUCCESS, identifier: this.#id, data: new Uint8Array() }, identity: this.#identity, msk: this.#msk! };
    }
    return this.#fail(`MS-CHAPv2 OpCode ${m.value.op} out of turn`);
  }

  #onIdentity(p: EapPacket): EapStep {
    if (p.type !== EapType.IDENTITY || !p.data.length) return this.#fail('no EAP identity');
    this.#identity = Buffer.from(p.data).toString('utf8');
    this.#challenge = this.#random(16);
    this.#id = (this.#id + 1) & 0xff;
    this.#state = 'challenge';
    const data = encodeMschap({ op: MschapOpCode.CHALLENGE, id: this.#id, challenge: this.#challenge, name: this.#serverName });
    return { status: 'continue', send: { code: EapCode.REQUEST, identifier: this.#id, type: EapType.MSCHAPV2, data } };
  }

  #onResponse(peerChallenge: Uint8Array, ntResponse: Uint8Array): EapStep {
    const password = this.#users(this.#identity);
    // An unknown user and a wrong password look the same from outside (no user enumeration).
    const expected = password && generateNtResponse(this.#challenge, peerChallenge, this.#identity, password);
    if (!password || !expected || !timingSafeEqual(expected, ntResponse)) return this.#fail(`MS-CHAPv2 authentication of '${this.#identity}' failed`, true);
    this.#msk = eapMschapv2Msk(password, ntResponse);
    this.#id = (this.#id + 1) & 0xff;
    this.#state = 'success-sent';
    const message = `${generateAuthenticatorResponse(password, ntResponse, peerChallenge, this.#challenge, this.#identity)} M=Welcome`;
    return { status: 'continue', send: { code: EapCode.REQUEST, identifier: this.#id, type: EapType.MSCHAPV2, data: encodeMschap({ op: MschapOpCode.SUCCESS, id: this.#id, message }) } };
  }

  #fail(reason: string, knownIdentity = false): EapStep {
    this.#state = 'done';
    return { status: 'failure', send: { code: EapCode.FAILURE, identifier: this.#id, data: new Uint8Array() }, reason, ...(knownIdentity || this.#identity ? { identity: this.#identity } : {}) };
  }
}
