/*
 * CCP, the Compression Control Protocol (RFC 1962), used here for one thing only: MPPE (RFC 3078),
 * the encryption PPTP (and, on request, SSTP) clients negotiate as CCP option 18.
 *
 *  | Type | Length | Data ...  |   RFC 1962 §3: one option per algorithm
 *
 * Why negotiate rather than Protocol-Reject CCP: pppd and Windows open it whenever they can
 * (proposing MPPE 18, Deflate 26, BSD-Compress 21); a Protocol-Reject makes some clients log an error
 * or drop MPPE-related state. Without an MPPE policy (or without MPPE keys from authentication) our
 * request is empty, every proposal is rejected (§5.4) and CCP opens with nothing: no Compressed
 * Datagram (0x00FD) is ever sent. With a policy, MPPE is offered and agreed per direction
 * (mppe/mppe-option.ts); every other algorithm is still rejected. Reset-Request/Ack (codes 14 and 15,
 * §2.2) are MPPE's business and handled by the link, not the automaton.
 */
import type { PppOption } from './control-packet.ts';
import { chooseMppe, isExactly, mppeBits, mppeOption, mppeOptionBits, offeredBits, MPPE_OPTION, type MppeChoice, type MppePolicy } from './mppe/mppe-option.ts';
import { PppProtocol } from './frame.ts';
import type { FsmProtocol, RequestVerdict } from './fsm-protocol.ts';

/** CCP option types (IANA "PPP Compression Control Protocol Option Types"), for logs. */
export const CcpOption = {
  Oui: 0,
  PredictorType1: 1,
  PredictorType2: 2,
  PuddleJumper: 3,
  HewlettPackardPpc: 16,
  StacElectronicsLzs: 17,
  MicrosoftPpc: 18,
  GandalfFza: 19,
  V42bis: 20,
  BsdLzwCompress: 21,
  LzsDcp: 23,
  /** pppd also sends Deflate under 24, the number of a draft. */
  MagnalinkVariableResourceCompression: 24,
  Dce: 25,
  Deflate: 26,
} as const;

/** What CCP agreed, per direction: `send` is what the peer asked to receive, `receive` what we asked. */
export interface CcpNegotiated {
  send?: MppeChoice | undefined;
  receive?: MppeChoice | undefined;
}

export class CcpHandler implements FsmProtocol {
  readonly name = 'CCP';
  readonly protocol = PppProtocol.CCP;
  readonly kind = 'ncp';
  readonly ignoredCodes = [14, 15];
  readonly #policy: MppePolicy | undefined;
  /** MPPE needs keys from authentication (MS-CHAPv2); the link says whether it has them. */
  #keys = false;
  #ourBits: number | undefined;
  negotiated: CcpNegotiated = {};

  constructor(policy?: MppePolicy) {
    this.#policy = policy;
  }

  /** Called by the link before CCP starts: MPPE is offered only with keys to use. */
  setMppeKeysAvailable(available: boolean): void {
    this.#keys = available;
  }

  get mppePolicy(): MppePolicy | undefined {
    return this.#keys ? this.#policy : undefined;
  }

  resetRequest(): void {
    const policy = this.mppePolicy;
    this.#ourBits = policy ? offeredBits(policy) : undefined;
    this.negotiated = {};
  }

  buildRequestOptions(): PppOption[] {
    return this.#ourBits === undefined ? [] : [mppeOption(this.#ourBits)];
  }

  /** Everything but one well-formed MPPE option is rejected; MPPE is Nak'ed down to one choice. */
  checkRequest(options: readonly PppOption[]): RequestVerdict {
    const policy = this.mppePolicy;
    const rejects = options.filter((o) => !policy || mppeOptionBits(o) === undefined);
    if (rejects.length > 0) return { kind: 'reject', options: rejects };
    if (!policy) return { kind: 'ack' };
    const bits = options.length > 0 ? mppeOptionBits(options[options.length - 1]!) : undefined;
    if (bits === undefined) {
      // §5.3: a Nak may ask for an option the peer left out.
      return policy.mode === 'require' ? { kind: 'nak', options: [mppeOption(offeredBits(policy))] } : { kind: 'ack' };
    }
    const choice = chooseMppe(bits, policy);
    if (!choice) return policy.mode === 'require' ? { kind: 'fail', reason: 'the peer offers no MPPE strength allowed here' } : { kind: 'reject', options };
    return isExactly(bits, choice) ? { kind: 'ack' } : { kind: 'nak', options: [mppeOption(mppeBits(choice))] };
  }

  /** The peer's acknowledged request says how it wants to receive: our send direction. */
  onPeerAcked(options: readonly PppOption[]): void {
    const bits = options.map(mppeOptionBits).find((b) => b !== undefined);
    const policy = this.mppePolicy;
    if (bits !== undefined && policy) this.negotiated.send = chooseMppe(bits, policy);
  }

  onAck(options: readonly PppOption[]): void {
    const bits = options.map(mppeOptionBits).find((b) => b !== undefined);
    const policy = this.mppePolicy;
    if (bits !== undefined && policy) this.negotiated.receive = chooseMppe(bits, policy);
  }

  /** The peer names the one strength it wants: take it if allowed, else give MPPE up (or fail). */
  onNak(options: readonly PppOption[]): string | void {
    const policy = this.mppePolicy;
    const bits = options.map(mppeOptionBits).find((b) => b !== undefined);
    if (!policy || bits === undefined) return;
    const choice = chooseMppe(bits, policy);
    if (choice) this.#ourBits = mppeBits(choice);
    else if (policy.mode === 'require') return 'the peer wants an MPPE strength not allowed here';
    else this.#ourBits = undefined;
  }

  onReject(options: readonly PppOption[]): string | void {
    if (!options.some((o) => o.type === MPPE_OPTION)) return;
    if (this.mppePolicy?.mode === 'require') return 'the peer rejected MPPE';
    this.#ourBits = undefined;
  }
}
