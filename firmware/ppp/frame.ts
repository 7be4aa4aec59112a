/*
 * The PPP frame as SSTP, L2TP and PPTP carry it (RFC 1661 §2, RFC 1662 §3.1):
 *
 *  +----------+----------+----------+-------------+---------+
 *  | Address  | Control  | Protocol | Information | Padding |
 *  | 0xFF     | 0x03     | 16 bits  |      *      |    *    |
 *  +----------+----------+----------+-------------+---------+
 *
 * Address and Control are absent when ACFC was negotiated (RFC 1661 §6.6); the Protocol field is one
 * byte when PFC was negotiated (§6.5). HDLC flags, escaping and the FCS belong to the carrier.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';

/** PPP DLL protocol numbers (IANA "PPP DLL Protocol Numbers"), with the IANA spellings as comments. */
export const PppProtocol = {
  /** Internet Protocol version 4 */
  IPv4: 0x0021,
  /** Internet Protocol version 6 */
  IPv6: 0x0057,
  /** Compressed datagram (RFC 1962 §2) */
  CompressedDatagram: 0x00fd,
  /** Internet Protocol Control Protocol (RFC 1332) */
  IPCP: 0x8021,
  /** IPv6 Control Protocol (RFC 5072) */
  IPV6CP: 0x8057,
  /** Compression Control Protocol (RFC 1962) */
  CCP: 0x80fd,
  /** Link Control Protocol (RFC 1661) */
  LCP: 0xc021,
  /** Password Authentication Protocol (RFC 1334) */
  PAP: 0xc023,
  /** Challenge Handshake Authentication Protocol (RFC 1994) */
  CHAP: 0xc223,
  /** PPP Extensible Authentication Protocol (RFC 3748) */
  EAP: 0xc227,
} as const;
export type PppProtocol = (typeof PppProtocol)[keyof typeof PppProtocol];

const NAMES = new Map<number, string>(Object.entries(PppProtocol).map(([name, value]) => [value, name]));

/** "LCP", or "0x8281" for a number we have no name for (logs, Protocol-Reject counters). */
export function protocolName(protocol: number): string {
  return NAMES.get(protocol) ?? `0x${protocol.toString(16).padStart(4, '0')}`;
}

/**
 * §2: "the least significant bit of the least significant octet MUST equal 1" and "the least
 * significant bit of the most significant octet MUST equal 0" (so every value's low octet is odd).
 */
export function isValidProtocol(protocol: number): boolean {
  return Number.isInteger(protocol) && protocol >= 0 && protocol <= 0xffff && (protocol & 0x0001) === 1 && (protocol & 0x0100) === 0;
}

export interface PppFrame {
  readonly protocol: number;
  /** The information field, padding included: control packets carry their own length (§5). */
  readonly information: Uint8Array;
}

export interface DecodedPppFrame extends PppFrame {
  /** Whether the frame began with Address 0xFF, Control 0x03. */
  readonly addressControl: boolean;
}

export interface FrameDecodeOptions {
  /** PFC was negotiated (§6.5): a one-byte Protocol field (odd first byte) is allowed. */
  readonly pfc?: boolean;
}

export interface FrameEncodeOptions {
  /** Emit Address 0xFF, Control 0x03 first (SSTP and L2TP links carry them). */
  readonly addressControl?: boolean;
  /** Send the Protocol field as one byte where possible (§6.5: only when the peer agreed to PFC). */
  readonly compressProtocol?: boolean;
}

/**
 * Frames with or without 0xFF 0x03 are both accepted: a valid Protocol field never begins with 0xFF
 * (RFC 1661 §6.6 reserves 0x00FF so the two cannot be confused).
 */
export function decodePppFrame(bytes: Uint8Array, options: FrameDecodeOptions = {}): Decoded<DecodedPppFrame> {
  let at = 0;
  const addressControl = bytes[0] === 0xff;
  if (addressControl) {
    if (bytes.length < 2) return fail('TRUNCATED', 'frame ends after the Address field', 0);
    if (bytes[1] !== 0x03) return fail('INVALID_SYNTAX', `Control field 0x${(bytes[1] as number).toString(16)} after Address 0xFF`, 1);
    at = 2;
  }
  const first = bytes[at];
  if (first === undefined) return fail('TRUNCATED', 'frame has no Protocol field', at);
  if ((first & 1) === 1) {
    // One odd byte: the compressed form of 0x00XX (§6.5).
    if (!options.pfc) return fail('INVALID_SYNTAX', 'compressed Protocol field without PFC', at);
    return ok({ protocol: first, information: bytes.subarray(at + 1), addressControl });
  }
  const second = bytes[at + 1];
  if (second === undefined) return fail('TRUNCATED', 'frame ends inside the Protocol field', at);
  const protocol = (first << 8) | second;
  if (!isValidProtocol(protocol)) return fail('INVALID_SYNTAX', `invalid Protocol 0x${protocol.toString(16)}`, at);
  return ok({ protocol, information: bytes.subarray(at + 2), addressControl });
}

/**
 * Builds a frame. LCP's number never fits one byte, so PFC cannot touch it (§6.5); the caller keeps
 * `addressControl` on for LCP on links that use the fields at all (§6.6).
 */
export function encodePppFrame(frame: PppFrame, options: FrameEncodeOptions = {}): Uint8Array {
  if (!isValidProtocol(frame.protocol)) throw new Error(`invalid PPP protocol 0x${frame.protocol.toString(16)}`);
  const short = options.compressProtocol === true && frame.protocol < 0x100;
  const head = (options.addressControl ? 2 : 0) + (short ? 1 : 2);
  const out = new Uint8Array(head + frame.information.length);
  let at = 0;
  if (options.addressControl) {
    out[at++] = 0xff;
    out[at++] = 0x03;
  }
  if (!short) out[at++] = frame.protocol >> 8;
  out[at++] = frame.protocol & 0xff;
  out.set(frame.information, at);
  return out;
}
