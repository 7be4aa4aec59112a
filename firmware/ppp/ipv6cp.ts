/*
 * IPV6CP Configuration Options (RFC 5072 §4), as a gateway giving its peer an interface identifier.
 *
 * Interface-Identifier (RFC 5072 §4.1):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Type      |    Length     | Interface-Identifier (MS Bytes)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *                    Interface-Identifier (cont)
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  Interface-Identifier (LS Bytes) |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *  | Type | Length | Data                                 |
 *  |  1   |   10   | Interface-Identifier (64)            |  RFC 5072 §4.1
 *  |  2   |  ≥ 4   | IPv6-Compression-Protocol (16) | ... |  RFC 5072 §4.2: rejected (no ROHC/IPHC)
 *
 * IPV6CP uses the LCP automaton and codes 1 to 7 only (RFC 5072 §3). The link-local addresses of
 * both ends are fe80::/64 plus the negotiated identifiers (RFC 5072 §5, RFC 4291 §2.5.6).
 */
import { sameBytes, type PppOption } from './control-packet.ts';
import { ipv6Text } from '../util/ip.ts';
import { PppProtocol } from './frame.ts';
import { ACK, checkEachOption, nak, REJECT, type FsmProtocol, type OptionVerdict, type RequestVerdict } from './fsm-protocol.ts';

export const Ipv6cpOption = {
  InterfaceIdentifier: 1,
  Ipv6CompressionProtocol: 2,
} as const;

/** 64 bits (RFC 5072 §4.1). */
export const INTERFACE_ID_LENGTH = 8;

export interface Ipv6cpConfig {
  /** Our tentative identifier, sent in our own request: 8 bytes, not zero. */
  readonly localInterfaceId: Uint8Array;
  /**
   * Called once, at the peer's first Configure-Request: the identifier the peer is to use (derived by
   * the caller from the pool's IPv6 lease), or undefined when any non-zero one that does not collide
   * with ours will do. A zero, malformed or colliding answer counts as undefined.
   */
  readonly peerInterfaceId: () => Uint8Array | undefined;
  /**
   * 8 random bytes, for an identifier we must make up (a zero or colliding one; RFC 5072 §4.1).
   * Without it the made-up identifier is derived from ours, which is deterministic and good enough on
   * a point-to-point link where only the two ends need to differ.
   */
  readonly randomId?: () => Uint8Array;
}

/** What IPV6CP agreed on; read when IPV6CP is up. */
export interface Ipv6cpNegotiated {
  localInterfaceId: Uint8Array | undefined;
  peerInterfaceId: Uint8Array | undefined;
}

const isZero = (id: Uint8Array): boolean => id.every((b) => b === 0);
const isUsable = (id: Uint8Array | undefined): id is Uint8Array => id !== undefined && id.length === INTERFACE_ID_LENGTH && !isZero(id);
const idOption = (id: Uint8Array): PppOption => ({ type: Ipv6cpOption.InterfaceIdentifier, data: id });

export class Ipv6cpHandler implements FsmProtocol {
  readonly name = 'IPV6CP';
  readonly protocol = PppProtocol.IPV6CP;
  readonly kind = 'ncp';
  readonly #configured: Uint8Array;
  readonly #peerInterfaceId: Ipv6cpConfig['peerInterfaceId'];
  readonly #randomId: Ipv6cpConfig['randomId'];
  /** Our tentative identifier: the configured one until a Nak moves it (§4.1). */
  #local: Uint8Array;
  #sendId = true;
  /** The identifier the caller wants the peer to use; 'none' when any will do; undefined before asking. */
  #wanted: Uint8Array | 'none' | undefined;
  /** An identifier we made up for a peer that proposed zero or ours; kept so repeated Naks agree. */
  #madeUp: Uint8Array | undefined;
  /** The last non-zero identifier the peer proposed for itself, so we never take it for ours. */
  #peerProposed: Uint8Array | undefined;
  readonly #negotiated: Ipv6cpNegotiated = { localInterfaceId: undefined, peerInterfaceId: undefined };

  constructor(config: Ipv6cpConfig) {
    if (!isUsable(config.localInterfaceId)) throw new Error('IPV6CP local interface identifier must be 8 bytes, not all zero');
    this.#configured = config.localInterfaceId.slice();
    this.#local = this.#configured;
    this.#peerInterfaceId = config.peerInterfaceId;
    this.#randomId = config.randomId;
  }

  get negotiated(): Readonly<Ipv6cpNegotiated> {
    return this.#negotiated;
  }

  /** A new negotiation starts from the configured identifier again: reproducible across restarts (§4.1). */
  resetRequest(): void {
    this.#local = this.#configured;
    this.#sendId = true;
  }

  buildRequestOptions(): PppOption[] {
    return this.#sendId ? [idOption(this.#local)] : [];
  }

  /**
   * RFC 5072 §4.1: a zero identifier, or one equal to ours, is Nak'd with a non-zero one for the peer;
   * when the caller wants a particular identifier, any other is Nak'd with it, and a peer that does
   * not propose one at all is sent it unsolicited in a Nak (RFC 1661 §5.3, last paragraph).
   */
  checkRequest(options: readonly PppOption[]): RequestVerdict {
    const wanted = this.#wantedId();
    const asked = options.some((o) => o.type === Ipv6cpOption.InterfaceIdentifier);
    const unsolicited = !asked && wanted ? [idOption(wanted)] : [];
    return checkEachOption(options, (o) => this.#checkOption(o, wanted), unsolicited);
  }

  #checkOption(option: PppOption, wanted: Uint8Array | undefined): OptionVerdict {
    // IPv6-Compression-Protocol (§4.2: no header compression here) and anything unknown (§5.4).
    if (option.type !== Ipv6cpOption.InterfaceIdentifier) return REJECT;
    const id = option.data;
    // A wrong Length is a value we cannot accept: Nak it with a well-formed one (RFC 1661 §5.3).
    if (!isUsable(id) || sameBytes(id, this.#local)) return nak(idOption(wanted ?? this.#suggestion()));
    this.#peerProposed = id.slice();
    if (wanted && !sameBytes(id, wanted)) return nak(idOption(wanted));
    return ACK;
  }

  #wantedId(): Uint8Array | undefined {
    if (this.#wanted === undefined) {
      const got = this.#peerInterfaceId();
      // An identifier equal to ours would make both link-local addresses the same (§4.1).
      this.#wanted = isUsable(got) && !sameBytes(got, this.#local) ? got.slice() : 'none';
    }
    if (this.#wanted !== 'none' && sameBytes(this.#wanted, this.#local)) this.#wanted = 'none';
    return this.#wanted === 'none' ? undefined : this.#wanted;
  }

  /** The identifier we offer a peer that proposed zero or ours: made up once, remade only on collision. */
  #suggestion(): Uint8Array {
    if (!this.#madeUp || sameBytes(this.#madeUp, this.#local)) this.#madeUp = this.#newId([this.#local]);
    return this.#madeUp;
  }

  /**
   * A fresh non-zero identifier unlike any in `avoid`. §4.1: one made up at random has the "u" bit
   * (0x02 of the first byte, RFC 4291 Appendix A) set to zero, as it is not globally unique.
   */
  #newId(avoid: readonly Uint8Array[]): Uint8Array {
    const random = this.#randomId?.();
    const id = random?.length === INTERFACE_ID_LENGTH ? random.slice() : this.#configured.slice();
    if (!random || random.length !== INTERFACE_ID_LENGTH) id[INTERFACE_ID_LENGTH - 1]! ^= 0x01;
    id[0]! &= ~0x02;
    while (isZero(id) || avoid.some((a) => sameBytes(a, id))) increment(id);
    return id;
  }

  onPeerAcked(options: readonly PppOption[]): void {
    const id = options.find((o) => o.type === Ipv6cpOption.InterfaceIdentifier);
    this.#negotiated.peerInterfaceId = id ? id.data.slice() : undefined;
  }

  /** When the peer rejected the option we still use our tentative identifier (§4.1). */
  onAck(options: readonly PppOption[]): void {
    const id = options.find((o) => o.type === Ipv6cpOption.InterfaceIdentifier);
    this.#negotiated.localInterfaceId = (id ? id.data : this.#local).slice();
  }

  /**
   * §4.1: the peer's suggestion becomes our tentative identifier unless it is zero, malformed or the
   * peer's own; then we pick another, unlike everything seen, so the exchange converges.
   */
  onNak(options: readonly PppOption[]): void {
    const suggested = options.find((o) => o.type === Ipv6cpOption.InterfaceIdentifier)?.data;
    if (suggested === undefined) return;
    this.#sendId = true;
    const theirs = [this.#peerProposed, this.#negotiated.peerInterfaceId, this.#wanted === 'none' ? undefined : this.#wanted].filter(isUsable);
    if (isUsable(suggested) && !theirs.some((p) => sameBytes(p, suggested))) {
      this.#local = suggested.slice();
      return;
    }
    const avoid = [this.#local, ...theirs];
    if (suggested.length === INTERFACE_ID_LENGTH) avoid.push(suggested);
    this.#local = this.#newId(avoid);
  }

  /** A peer that does not do Interface-Identifier is sent none; ours stays our tentative one (§4.1). */
  onReject(options: readonly PppOption[]): void {
    if (options.some((o) => o.type === Ipv6cpOption.InterfaceIdentifier)) this.#sendId = false;
  }
}

/** Adds one to a big-endian number, wrapping. */
function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = (bytes[i]! + 1) & 0xff;
    if (bytes[i] !== 0) return;
  }
}

/** fe80::/64 with the identifier as its low 64 bits (RFC 4291 §2.5.6), 16 bytes. */
export function linkLocalFromInterfaceIdBytes(id: Uint8Array): Uint8Array {
  if (id.length !== INTERFACE_ID_LENGTH) throw new Error(`interface identifier of ${id.length} bytes`);
  const out = new Uint8Array(16);
  out[0] = 0xfe;
  out[1] = 0x80;
  out.set(id, 8);
  return out;
}

/** The link-local address as text, in the canonical form of RFC 5952 §4 ("fe80::1:2:3:4"). */
export function linkLocalFromInterfaceId(id: Uint8Array): string {
  return formatIpv6(linkLocalFromInterfaceIdBytes(id));
}

/** RFC 5952 §4: lower-case hex, no leading zeros, the longest run (≥ 2, first on a tie) of zero groups as "::". */
export function formatIpv6(bytes: Uint8Array): string {
  return ipv6Text(bytes);
}
