/*
 * EAP in PPP (RFC 3748, PPP protocol 0xC227) on the gateway: the link carries EAP packets between the
 * peer and an EAP server — the local EAP-MSCHAPv2 server, or the relay to RADIUS (issue 21: any
 * method the RADIUS server runs). RFC 3748 §4.3: the authenticator retransmits its Request until a
 * Response comes (3 s, 10 times); while RADIUS decides on a Response nothing is resent, and the
 * answer goes out at the tick the session's wake asks for.
 */
import { decodeEap, encodeEap, type EapPacket } from '../../auth/eap/eap-packet.ts';
import type { EapServer, EapStep } from '../../auth/eap/eap-server.ts';
import { Secret } from '../../util/secret.ts';
import { PppProtocol } from '../frame.ts';
import type { AuthStep, PppAuthenticator } from '../link.ts';


export class PppEapAuthenticator implements PppAuthenticator {
  readonly protocol = PppProtocol.EAP;
  readonly drops: Record<string, number> = {};
  readonly #backend: EapServer;
  readonly #restartMs: number;
  readonly #maxRequests: number;
  #last: Uint8Array | undefined;
  #identifier = -1;
  #sent = 0;
  #due: number | undefined;
  #done = false;
  /** A Response is with RADIUS: no retransmission until its answer is taken. */
  #pending = false;

  constructor(backend: EapServer, options: { restartMs?: number; maxRequests?: number } = {}) {
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
    return this.#step(this.#backend.receive(decoded.value), now);
  }

  #step(step: EapStep, now: number): AuthStep {
    this.#pending = step.status === 'pending';
    if (step.status === 'pending') {
      this.#due = undefined;
      return { send: [] };
    }
    if (step.status === 'continue') return { send: [this.#request(step.send, now)] };
    this.#done = true;
    this.#due = undefined;
    const send = [encodeEap(step.send)];
    if (step.status === 'failure') return { send, outcome: { ok: false, reason: step.reason, ...(step.identity !== undefined ? { user: step.identity } : {}) } };
    // [MS-SSTP] §3.2.5.2: for EAP methods the HLAK is the first 32 octets of the MSK.
    return { send, outcome: { ok: true, user: step.identity, keys: { hlak: new Secret(Uint8Array.from(step.msk.subarray(0, 32))), ...(step.mppe ? { mppe: step.mppe } : {}) }, ...(step.authorization ? { authorization: step.authorization } : {}) } };
  }

  tick(now: number): AuthStep {
    if (this.#pending) {
      const step = this.#backend.resume();
      return step ? this.#step(step, now) : { send: [] };
    }
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
    if (this.#pending) return this.#backend.verdictReady ? 0 : undefined;
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
