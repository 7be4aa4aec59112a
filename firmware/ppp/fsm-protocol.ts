/**
 * What the one option-negotiation automaton (fsm.ts, RFC 1661 §4) needs from each protocol that
 * uses it: LCP, IPCP, IPV6CP and CCP are each one small `FsmProtocol`. The automaton owns states,
 * identifiers, counters and timers; a handler only knows its options.
 */
import type { EchoPacket, PppOption } from './control-packet.ts';

/** The answer to a peer's Configure-Request (§5.2 to §5.4), or `fail` when no answer can work. */
export type RequestVerdict =
  | { readonly kind: 'ack' }
  /** Acceptable options with unacceptable values: these are the values we would accept (§5.3). */
  | { readonly kind: 'nak'; readonly options: readonly PppOption[] }
  /** Options we do not know or will not negotiate, exactly as received, in order (§5.4). */
  | { readonly kind: 'reject'; readonly options: readonly PppOption[] }
  /** Nothing to offer (no address left for IPCP): the automaton takes a Close event instead. */
  | { readonly kind: 'fail'; readonly reason: string };

/** One option's verdict, for `checkEachOption`. */
export type OptionVerdict = { readonly verdict: 'ack' } | { readonly verdict: 'nak'; readonly suggest: PppOption } | { readonly verdict: 'reject' };

export const ACK: OptionVerdict = { verdict: 'ack' };
export const REJECT: OptionVerdict = { verdict: 'reject' };
export const nak = (suggest: PppOption): OptionVerdict => ({ verdict: 'nak', suggest });

export interface FsmProtocol {
  /** "LCP", "IPCP": for logs and counters. */
  readonly name: string;
  /** The PPP protocol number its packets travel under (0xC021, 0x8021, ...). */
  readonly protocol: number;
  /**
   * LCP also speaks codes 8 to 11 (Protocol-Reject, Echo, Discard; RFC 1661 §5.7 to §5.9); the NCPs
   * use codes 1 to 7 only (RFC 1332 §2), so anything else is an unknown code for them.
   */
  readonly kind: 'lcp' | 'ncp';
  /** Codes this protocol knows but takes no part in (LCP 12 and 13, CCP 14 and 15): dropped, not Code-Rejected. */
  readonly ignoredCodes?: readonly number[];

  /** A new negotiation begins (from Starting, Closed, Stopped or Opened): back to the options we want. */
  resetRequest?(): void;
  /** The options of our next Configure-Request. */
  buildRequestOptions(): PppOption[];
  /** Judges the peer's Configure-Request; it may remember nothing until `onPeerAcked`. */
  checkRequest(options: readonly PppOption[]): RequestVerdict;
  /** We sent a Configure-Ack for these options: they are the peer's side of the link now. */
  onPeerAcked?(options: readonly PppOption[]): void;
  /** The peer acknowledged our request (these are our options, as sent). */
  onAck(options: readonly PppOption[]): void;
  /** Adjust our next request to the peer's suggestions; a string ends negotiation with that reason. */
  onNak(options: readonly PppOption[]): string | void;
  /** Drop these options from our next request; a string ends negotiation with that reason. */
  onReject(options: readonly PppOption[]): string | void;

  /** Our Magic-Number for Echo-Reply (LCP; 0 when none was negotiated, §6.4). */
  magicNumber?(): number;
  /** The peer's MRU, to cut Code-Reject and Protocol-Reject to (§5.6, §5.7); 1500 when absent. */
  peerMru?(): number;
  /** An Echo-Reply arrived in Opened (LCP keepalives). */
  onEchoReply?(echo: EchoPacket, identifier: number): void;
  /** The peer rejected another protocol (§5.7): that protocol must stop (LCP only). */
  onProtocolReject?(protocol: number): void;

  onLayerUp?(): void;
  onLayerDown?(): void;
  onLayerStarted?(): void;
  onLayerFinished?(): void;
}

/** What an engine asks its shell to do; `packet` is the control packet, without the PPP header. */
export type PppAction =
  | { readonly type: 'send'; readonly protocol: number; readonly packet: Uint8Array }
  /** RFC 1661 §4.4: This-Layer-Up/Down/Started/Finished, for the layer above or below. */
  | { readonly type: 'layer-up' | 'layer-down' | 'layer-started' | 'layer-finished'; readonly protocol: number; readonly why: string }
  /** The peer sent a Protocol-Reject for `protocol`: stop that protocol's automaton (§5.7). */
  | { readonly type: 'protocol-rejected'; readonly protocol: number }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly fields?: Record<string, unknown> };

/**
 * Judges a request option by option. §5.4: if any option is rejected, the answer is a Configure-Reject
 * with only those; otherwise §5.3: a Configure-Nak with the suggested values; otherwise an Ack.
 * `unsolicited` options are added to a Nak to ask the peer to include them (§5.3, last paragraph).
 */
export function checkEachOption(options: readonly PppOption[], check: (option: PppOption) => OptionVerdict, unsolicited: readonly PppOption[] = []): RequestVerdict {
  const rejects: PppOption[] = [];
  const naks: PppOption[] = [];
  for (const option of options) {
    const v = check(option);
    if (v.verdict === 'reject') rejects.push(option);
    else if (v.verdict === 'nak') naks.push(v.suggest);
  }
  if (rejects.length > 0) return { kind: 'reject', options: rejects };
  naks.push(...unsolicited);
  return naks.length > 0 ? { kind: 'nak', options: naks } : { kind: 'ack' };
}
