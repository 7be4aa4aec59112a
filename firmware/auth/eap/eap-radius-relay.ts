/*
 * EAP passed through to RADIUS (RFC 3579; issue 21): the gateway asks the EAP Identity itself, then
 * relays every EAP Response to the RADIUS server in an Access-Request (EAP-Message, the server's
 * State echoed, Message-Authenticator added by the client) and every EAP Request of its
 * Access-Challenge back to the peer, so the peer and the server run whatever method they agree on
 * (EAP-MSCHAPv2, PEAP, EAP-TLS) and the gateway never sees a password. An Access-Accept ends it with
 * the server's EAP Success and the MSK from MS-MPPE-Recv-Key | MS-MPPE-Send-Key (RFC 3748 §7.10,
 * RFC 2548 §2.4), which keys IKEv2's AUTH; an Access-Reject or no answer ends it with EAP Failure.
 *
 * Same shape as the EAP-MSCHAPv2 server: packets in, packets out; RADIUS answers later, so a
 * Response gives 'pending', `onVerdict` tells the shell, and `resume()` gives the step to send.
 */
import { sessionAuthorizationOf } from '../../radius/session-authorization.ts';
import { Attr, textAttr } from '../../radius/attributes.ts';
import type { RadiusResult } from '../../radius/client-engine.ts';
import { eapMessageAttributes, reassembleEapMessage } from '../../radius/eap-message.ts';
import type { RadiusAttribute } from '../../radius/packet.ts';
import { Secret } from '../../util/secret.ts';
import { decodeEap, EapCode, EapType, encodeEap, type EapPacket } from './eap-packet.ts';
import type { EapServer, EapStep } from './eap-server.ts';

/** What the relay needs of a RADIUS client (`RadiusClient.authenticate`). */
export interface EapRadius {
  authenticate(attributes: readonly RadiusAttribute[]): Promise<RadiusResult>;
}

export class EapRadiusRelay implements EapServer {
  readonly #radius: EapRadius;
  /** NAS attributes and Calling-Station-Id, on every Access-Request. */
  readonly #nas: readonly RadiusAttribute[];
  readonly #random: (n: number) => Uint8Array;
  readonly #onVerdict: (() => void) | undefined;
  #state: 'identity' | 'waiting' | 'relaying' | 'done' = 'identity';
  #id = 0;
  #identity = '';
  /** The server's State (RFC 2865 §5.24), echoed unchanged in the next Access-Request. */
  #radiusState: Uint8Array | undefined;
  #ready: EapStep | undefined;

  constructor(radius: EapRadius, nas: readonly RadiusAttribute[], random: (n: number) => Uint8Array, onVerdict?: () => void) {
    this.#radius = radius;
    this.#nas = nas;
    this.#random = random;
    this.#onVerdict = onVerdict;
  }

  start(): EapPacket {
    this.#id = this.#random(1)[0] ?? 1;
    return { code: EapCode.REQUEST, identifier: this.#id, type: EapType.IDENTITY, data: new Uint8Array() };
  }

  receive(p: EapPacket): EapStep {
    // The peer resent its Response while the server was still deciding: answer once it has.
    if (this.#state === 'waiting') return this.resume() ?? { status: 'pending' };
    if (p.code !== EapCode.RESPONSE || p.identifier !== this.#id) return this.#fail(`unexpected EAP packet (code ${p.code}, id ${p.identifier})`);
    if (this.#state === 'identity') {
      if (p.type !== EapType.IDENTITY || !p.data.length) return this.#fail('no EAP identity');
      this.#identity = Buffer.from(p.data).toString('utf8');
    } else if (this.#state !== 'relaying') {
      return this.#fail('EAP packet after the outcome');
    }
    this.#ask(p);
    return { status: 'pending' };
  }

  get verdictReady(): boolean {
    return this.#state === 'waiting' && this.#ready !== undefined;
  }

  resume(): EapStep | undefined {
    const step = this.#ready;
    if (this.#state !== 'waiting' || !step) return undefined;
    this.#ready = undefined;
    if (step.status !== 'continue') this.#state = 'done';
    else this.#state = 'relaying';
    return step;
  }

  #ask(p: EapPacket): void {
    this.#state = 'waiting';
    const attributes = [
      textAttr(Attr.UserName, this.#identity),
      ...eapMessageAttributes(encodeEap(p)),
      ...(this.#radiusState ? [{ type: Attr.State, value: this.#radiusState }] : []),
      ...this.#nas,
    ];
    const settle = (step: EapStep): void => {
      this.#ready = step;
      this.#onVerdict?.();
    };
    this.#radius.authenticate(attributes).then(
      (result) => settle(this.#answer(result)),
      (error: unknown) => settle(this.#failure(`RADIUS failed: ${error instanceof Error ? error.message : String(error)}`)),
    );
  }

  /** What the server's answer means for the peer. */
  #answer(result: RadiusResult): EapStep {
    if (result.outcome === 'timeout' || result.outcome === 'overloaded') return this.#failure(`no RADIUS server answered (${result.outcome})`);
    const eap = reassembleEapMessage(result.packet.attributes);
    const packet = eap.ok && eap.value ? decodeEap(eap.value) : undefined;
    if (!eap.ok || (packet && !packet.ok)) return this.#failure(`${result.server} sent a malformed EAP-Message`);
    if (result.outcome === 'challenge') {
      if (!packet || packet.value.code !== EapCode.REQUEST) return this.#failure(`${result.server}: Access-Challenge without an EAP Request`);
      this.#radiusState = result.packet.attributes.find((a) => a.type === Attr.State)?.value;
      this.#id = packet.value.identifier;
      return { status: 'continue', send: packet.value };
    }
    if (result.outcome !== 'accept') return this.#failure(`${result.server}: ${result.outcome}`);
    const { recvKey, sendKey } = result.microsoft;
    // Without the keys the AUTH after EAP cannot be made: the server must send the MSK.
    if (!recvKey || !sendKey || recvKey.reveal().length < 16 || recvKey.reveal().length !== sendKey.reveal().length) return this.#failure(`${result.server} accepted without MS-MPPE-Recv-Key and MS-MPPE-Send-Key (the MSK)`);
    // 32 octets each for TLS-based methods; EAP-MSCHAPv2's are its 16-octet master keys, and its MSK
    // is them and 32 zero octets (as the local EAP-MSCHAPv2 server and strongSwan make it).
    const msk = Buffer.concat([recvKey.reveal().subarray(0, 32), sendKey.reveal().subarray(0, 32), Buffer.alloc(recvKey.reveal().length === 16 ? 32 : 0)]);
    const success = packet?.value.code === EapCode.SUCCESS ? packet.value : { code: EapCode.SUCCESS, identifier: this.#id, data: new Uint8Array() } as const;
    // MPPE-128 keys itself from the first 16 octets of each (RFC 3079 §3.4's master keys; RFC 2716 §3.5).
    const mppe = { send: new Secret(Uint8Array.from(sendKey.reveal().subarray(0, 16))), receive: new Secret(Uint8Array.from(recvKey.reveal().subarray(0, 16))) };
    return { status: 'success', send: success, identity: this.#identity, msk, mppe, authorization: sessionAuthorizationOf(result.packet.attributes, result.server) };
  }

  #failure(reason: string): EapStep {
    return { status: 'failure', send: { code: EapCode.FAILURE, identifier: this.#id, data: new Uint8Array() }, reason: `EAP of '${this.#identity}' through RADIUS failed: ${reason}`, ...(this.#identity ? { identity: this.#identity } : {}) };
  }

  #fail(reason: string): EapStep {
    this.#state = 'done';
    return this.#failure(reason);
  }
}
