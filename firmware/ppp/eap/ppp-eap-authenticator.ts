/*
 * EAP in PPP (RFC 3748, PPP protocol 0xC227) on the gateway: the link carries EAP packets between the
 * peer and an EAP backend — the local EAP-MSCHAPv2 server here, a RADIUS server later (the backend
 * interface is what a pass-through needs: requests out, responses in, an outcome with the MSK).
 * RFC 3748 §4.3: the authenticator retransmits its Request until a Response comes (3 s, 10 times).
 */
import { decodeEap, encodeEap, type EapPacket } from '../../auth/eap/eap-packet.ts';
import type { EapStep } from '../../auth/eap/mschapv2-server.ts';
import { Secret } from '../../util/secret.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';

/** Where EAP conversations are decided: the local server or, later, RADIUS. */
export interface EapBackend {
  start(): EapPacket;
  receive(packet: EapPacket): EapStep;
}

export class PppEapAuthenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.EAP;
  readonly drops: Record<string, number> = {};
  readonly #backend: EapBackend;
  readonly #restartMs: number;
  readonly #maxRequests: number;
  #last: Uint8Array | undefined;
  #identifier = -1;
  #sent = 0;
  #due: number | undefined;
  #done = false;

  constructor(backend: EapBackend, options: { restartMs?: number; maxRequests?: number } = {}) {
    this.#backend = backend;
    this.#restartMs = options.restartMs ?? 3000;
    this.#maxRequests = options.maxRequests ?? 10;
  }

  start(now: number): AuthStep {
    return { send: [this.#request(this.#backend.start(), now)] };
  }

  receive(packet: Uint8Array, now: number): AuthStep {
    if (this.#done) return this.#drop('after the outcome');
    const decoded = decodeEap(packet);
    if (!decoded.ok) return this.#drop(`malformed: ${decoded.error.message}`);
    // §4.1: a Response answers the outstanding Request only when the Identifier matches.
    if (decoded.value.identifier !== this.#identifier) return this.#drop('stale identifier');
    const step = this.#backend.receive(decoded.value);
    if (step.status === 'continue') return { send: [this.#request(step.send, now)] };
    // Only a verifier that answers later says 'pending'; PPP EAP runs the local users' (ppp-authenticators.ts).
    if (step.status === 'pending') return this.#drop('verdict pending');
    this.#done = true;
    this.#due = undefined;
    const send = [encodeEap(step.send)];
    if (step.status === 'failure') return { send, outcome: { ok: false, reason: step.reason, ...(step.identity !== undefined ? { user: step.identity } : {}) } };
    // [MS-SSTP] §3.2.5.2: for EAP methods the HLAK is the first 32 octets of the MSK.
    return { send, outcome: { ok: true, user: step.identity, keys: { hlak: new Secret(Uint8Array.from(step.msk.subarray(0, 32))) } } };
  }

  tick(now: number): AuthStep {
    if (this.#due === undefined || now < this.#due || !this.#last) return { send: [] };
    if (this.#sent >= this.#maxRequests) {
      this.#due = undefined;
      this.#done = true;
      return { send: [], outcome: { ok: false, reason: `no EAP response to ${this.#sent} requests` } };
    }
    this.#sent++;
    this.#due = now + this.#restartMs;
    return { send: [this.#last] };
  }

  nextTimeout(): number | undefined {
    return this.#due;
  }

  #request(packet: EapPacket, now: number): Uint8Array {
    this.#identifier = packet.identifier;
    this.#last = encodeEap(packet);
    this.#sent = 1;
    this.#due = now + this.#restartMs;
    return this.#last;
  }

  #drop(reason: string): AuthStep {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return { send: [] };
  }
}
