/*
 * EAP in PPP on the dialling side (RFC 3748): each Request answered by the EAP-MSCHAPv2 client that
 * IKEv2 uses too; a repeated Request (our Response was lost) gets the same Response again (§4.1).
 */
import { EapMschapv2Client } from '../../auth/eap/mschapv2-client.ts';
import { decodeEap, EapCode, encodeEap } from '../../auth/eap/eap-packet.ts';
import { Secret } from '../../util/secret.ts';
import type { PppAuthPeer } from '../client-link.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep } from '../link.ts';

export class PppEapPeer implements PppAuthPeer {
  readonly protocol = PppProtocol.EAP;
  readonly #client: EapMschapv2Client;
  readonly #user: string;
  #last: { identifier: number; request: Buffer; response: Uint8Array } | undefined;
  #done = false;

  constructor(user: string, password: Secret<string>, random: (n: number) => Uint8Array) {
    this.#client = new EapMschapv2Client(user, password, random);
    this.#user = user;
  }

  start(): AuthStep {
    return { send: [] };
  }

  receive(packet: Uint8Array): AuthStep {
    if (this.#done) return { send: [] };
    const decoded = decodeEap(packet);
    if (!decoded.ok) return { send: [] };
    const p = decoded.value;
    if (p.code === EapCode.REQUEST && this.#last && this.#last.identifier === p.identifier && this.#last.request.equals(packet)) return { send: [this.#last.response] };
    const step = this.#client.receive(p);
    if (step.status === 'continue') {
      const response = encodeEap(step.send);
      this.#last = { identifier: p.identifier, request: Buffer.from(packet), response };
      return { send: [response] };
    }
    this.#done = true;
    if (step.status === 'failure') return { send: [], outcome: { ok: false, reason: step.reason } };
    return { send: [], outcome: { ok: true, user: this.#user, keys: { hlak: new Secret(Uint8Array.from(step.msk.subarray(0, 32))) } } };
  }

  tick(): AuthStep {
    return { send: [] };
  }

  nextTimeout(): number | undefined {
    return undefined;
  }
}
