/*
 * Until IKEv1 exists, an IKEv1 initiator is told so at once instead of retransmitting for a minute.
 * ISAKMP header (RFC 2408 §3.1), 28 octets:
 * | Initiator Cookie (8) | Responder Cookie (8) | Next Payload | MjVer|MnVer | Exchange Type | Flags |
 * | Message ID (4) | Length (4) |
 * Notification payload (§3.14):
 * | Next Payload | RESERVED | Payload Length (2) | DOI (4) | Protocol-ID | SPI Size | Notify Type (2) | SPI | Data |
 */

const ISAKMP_HEADER = 28;
const EXCHANGE_IDENTITY_PROTECTION = 2; // Main Mode
const EXCHANGE_AGGRESSIVE = 4;
const EXCHANGE_INFORMATIONAL = 5;
const PAYLOAD_NOTIFICATION = 11;
const DOI_IPSEC = 1;
const PROTO_ISAKMP = 1;
export const IKEV1_NO_PROPOSAL_CHOSEN = 14;

/** True for an ISAKMP message with major version 1 (an IKEv1 peer). */
export const isIkev1 = (packet: Uint8Array): boolean => packet.length >= ISAKMP_HEADER && packet[17]! >> 4 === 1;

/**
 * The unencrypted Informational with NO-PROPOSAL-CHOSEN that answers the first message of a Main or
 * Aggressive Mode; undefined for anything else (never answer an informational: no loops).
 */
export function ikev1Refusal(request: Uint8Array, random: (n: number) => Uint8Array): Uint8Array | undefined {
  if (!isIkev1(request)) return undefined;
  const exchange = request[18]!;
  const encrypted = (request[19]! & 1) !== 0;
  const responderCookieZero = request.subarray(8, 16).every((b) => b === 0);
  if ((exchange !== EXCHANGE_IDENTITY_PROTECTION && exchange !== EXCHANGE_AGGRESSIVE) || encrypted || !responderCookieZero) return undefined;
  const notify = Buffer.alloc(12);
  notify.writeUInt16BE(notify.length, 2);
  notify.writeUInt32BE(DOI_IPSEC, 4);
  notify[8] = PROTO_ISAKMP;
  notify[9] = 0; // no SPI: the header's cookies name the exchange
  notify.writeUInt16BE(IKEV1_NO_PROPOSAL_CHOSEN, 10);
  const header = Buffer.alloc(ISAKMP_HEADER);
  header.set(request.subarray(0, 8), 0);
  header.set(random(8), 8);
  header[16] = PAYLOAD_NOTIFICATION;
  header[17] = 0x10;
  header[18] = EXCHANGE_INFORMATIONAL;
  header.set(random(4), 20);
  header.writeUInt32BE(ISAKMP_HEADER + notify.length, 24);
  return Buffer.concat([header, notify]);
}
