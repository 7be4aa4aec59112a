import type { Mschapv2Verification, Mschapv2Verifier } from '../mschapv2-verifier.ts';
import { EapCode, EapType, type EapPacket } from './eap-packet.ts';
import { decodeMschap, encodeMschap, MschapOpCode } from './mschapv2-packets.ts';

/** The local users, by name: their NT password hashes, all MS-CHAPv2 needs (RFC 2759 §8). */
export type { UserLookup } from '../../crypto/user-credential.ts';

import type { EapServer, EapStep, MppeMasterKeys } from './eap-server.ts';
import type { SessionAuthorization } from '../../radius/session-authorization.ts';
export type { EapStep } from './eap-server.ts';

/**
 * The gateway's EAP server inside IKE_AUTH (RFC 7296 §2.16) and PPP EAP: EAP-Identity, then
 * EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2) with the peer's Response checked by an
 * `Mschapv2Verifier` (the local users, RADIUS, or RADIUS then local), the same one PPP's CHAP
 * authenticator uses. Packets in, packets out; the challenge comes from the injected random source.
 * The local verifier answers at once; a RADIUS verdict arrives later: `receive` says 'pending',
 * `onVerdict` tells the shell, and `resume()` then gives the step to send.
 */
export class EapMschapv2Server implements EapServer {
  readonly #verifier: Mschapv2Verifier;
  readonly #random: (n: number) => Uint8Array;
  readonly #serverName: string;
  readonly #onVerdict: (() => void) | undefined;
  #state: 'identity' | 'challenge' | 'verifying' | 'success-sent' | 'done' = 'identity';
  #id = 0;
  #identity = '';
  /**
   * The MS-CHAPv2-ID of the peer's Response, which the Success-Request repeats (as PPP CHAP's Success
   * repeats the Response's Identifier, RFC 2759 §5): pppd looks its expected authenticator response up
   * by it, and refused ours when it carried the new EAP Identifier instead.
   */
  #msId = 0;
  #challenge: Uint8Array = new Uint8Array();
  #msk: Buffer | undefined;
  #mppe: MppeMasterKeys | undefined;
  /** What a RADIUS Access-Accept said about the session, passed on with the success. */
  #authorization: SessionAuthorization | undefined;
  /** A verdict that came later, until `resume()` or the peer's retransmitted Response takes it. */
  #ready: Mschapv2Verification | undefined;

  constructor(verifier: Mschapv2Verifier, random: (n: number) => Uint8Array, serverName: string, onVerdict?: () => void) {
    this.#verifier = verifier;
    this.#random = random;
    this.#serverName = serverName;
    this.#onVerdict = onVerdict;
  }

  /** True while a verdict that came later waits to be taken by `resume()`. */
  get verdictReady(): boolean {
    return this.#state === 'verifying' && this.#ready !== undefined;
  }

  start(): EapPacket {
    this.#id = this.#random(1)[0] ?? 1;
    return { code: EapCode.REQUEST, identifier: this.#id, type: EapType.IDENTITY, data: new Uint8Array() };
  }

  receive(p: EapPacket): EapStep {
    if (p.code !== EapCode.RESPONSE || p.identifier !== this.#id) return this.#fail(`unexpected EAP packet (code ${p.code}, id ${p.identifier})`);
    if (this.#state === 'identity') return this.#onIdentity(p);
    // The peer resent its Response while the verifier was still out: answer it once the verdict is in.
    if (this.#state === 'verifying') return this.resume() ?? { status: 'pending' };
    if (p.type === EapType.NAK) return this.#fail(`'${this.#identity}' refused EAP-MSCHAPv2`);
    if (p.type !== EapType.MSCHAPV2) return this.#fail(`EAP type ${p.type} where MSCHAPv2 was expected`);
    const m = decodeMschap(p.data);
    if (!m.ok) return this.#fail(`malformed MS-CHAPv2: ${m.error.message}`);
    if (this.#state === 'challenge' && m.value.op === MschapOpCode.RESPONSE && !('ack' in m.value)) return this.#onResponse(m.value.id, m.value.peerChallenge, m.value.ntResponse);
    if (this.#state === 'success-sent' && 'ack' in m.value && m.value.op === MschapOpCode.SUCCESS) {
      this.#state = 'done';
      return { status: 'success', send: { code: EapCode.SUCCESS, identifier: this.#id, data: new Uint8Array() }, identity: this.#identity, msk: this.#msk!, ...(this.#mppe ? { mppe: this.#mppe } : {}), ...(this.#authorization ? { authorization: this.#authorization } : {}) };
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

  #onResponse(ident: number, peerChallenge: Uint8Array, ntResponse: Uint8Array): EapStep {
    this.#msId = ident;
    const attempt = { userName: this.#identity, authenticatorChallenge: this.#challenge, ident, peerChallenge, ntResponse };
    let verdict: Mschapv2Verification | Promise<Mschapv2Verification>;
    try {
      verdict = this.#verifier.verify(attempt);
    } catch (error) {
      return this.#fail(`MS-CHAPv2 verifier failed for '${this.#identity}': ${error instanceof Error ? error.message : String(error)}`, true);
    }
    if (!(verdict instanceof Promise)) return this.#decide(verdict);
    this.#state = 'verifying';
    const settle = (v: Mschapv2Verification): void => {
      this.#ready = v;
      this.#onVerdict?.();
    };
    verdict.then(settle, (error: unknown) => settle({ ok: false, user: this.#identity, source: 'local', reason: `verifier failed: ${error instanceof Error ? error.message : String(error)}`, error: 691, noServer: false }));
    return { status: 'pending' };
  }

  /** The step a verdict that came later makes (MS-CHAPv2 Success request or EAP Failure); undefined before. */
  resume(): EapStep | undefined {
    if (!this.verdictReady) return undefined;
    const v = this.#ready!;
    this.#ready = undefined;
    return this.#decide(v);
  }

  #decide(v: Mschapv2Verification): EapStep {
    // An unknown user and a wrong password look the same from outside (no user enumeration).
    if (!v.ok) return this.#fail(`MS-CHAPv2 authentication of '${this.#identity}' failed${v.source === 'radius' ? ` (RADIUS: ${v.reason})` : ''}`, true);
    // MSK = MasterReceiveKey | MasterSendKey | 32 zero octets (the server's side; RFC 3079 §3.4 keys).
    this.#msk = Buffer.concat([v.recvKey.reveal(), v.sendKey.reveal(), Buffer.alloc(32)]);
    this.#mppe = { send: v.sendKey, receive: v.recvKey };
    this.#authorization = v.authorization;
    this.#id = (this.#id + 1) & 0xff;
    this.#state = 'success-sent';
    const message = `${v.authenticatorResponse} M=Welcome`;
    return { status: 'continue', send: { code: EapCode.REQUEST, identifier: this.#id, type: EapType.MSCHAPV2, data: encodeMschap({ op: MschapOpCode.SUCCESS, id: this.#msId, message }) } };
  }

  #fail(reason: string, knownIdentity = false): EapStep {
    this.#state = 'done';
    return { status: 'failure', send: { code: EapCode.FAILURE, identifier: this.#id, data: new Uint8Array() }, reason, ...(knownIdentity || this.#identity ? { identity: this.#identity } : {}) };
  }
}
