/*
 * CCP, the Compression Control Protocol (RFC 1962), with no compression at all:
 *
 *  | Type | Length | Data ...  |   RFC 1962 §3: one option per algorithm
 *
 * Why negotiate rather than Protocol-Reject CCP: RFC 1962 makes CCP optional, but pppd and Windows
 * open it whenever they can (proposing MPPE 18, Deflate 26, BSD-Compress 21); a Protocol-Reject of
 * CCP makes some clients log an error or drop MPPE-related state. So CCP runs on the shared automaton
 * with an empty request of our own, every option the peer proposes is rejected (§5.4), and the
 * peer's request once empty is acknowledged: CCP reaches Opened with no algorithm on either side,
 * and no Compressed Datagram (0x00FD) is ever sent. Reset-Request and Reset-Ack (codes 14 and 15,
 * RFC 1962 §2.2) mean nothing without an algorithm and are dropped.
 */
import type { PppOption } from './control-packet.ts';
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

export class CcpHandler implements FsmProtocol {
  readonly name = 'CCP';
  readonly protocol = PppProtocol.CCP;
  readonly kind = 'ncp';
  readonly ignoredCodes = [14, 15];

  buildRequestOptions(): PppOption[] {
    return [];
  }

  /** Every proposed algorithm is rejected as received; an empty request is acknowledged. */
  checkRequest(options: readonly PppOption[]): RequestVerdict {
    return options.length > 0 ? { kind: 'reject', options } : { kind: 'ack' };
  }

  onAck(): void {}

  /** A Nak of an empty request can only suggest algorithms; we want none, so we ask again unchanged. */
  onNak(): void {}

  onReject(): void {}
}
