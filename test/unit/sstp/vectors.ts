/**
 * Byte vectors shared by the SSTP tests, annotated field by field. The Call Connect Request is what
 * sstpc (sstp-client) and Windows send; the Ack and Call Connected pairs are [MS-SSTP] §4.7's
 * worked examples (SHA-256, then SHA-1), with the HLAK and certificate hash the spec gives for them.
 */
/** Plain hex, any case. */
export const bytes = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
/** Annotated lower-case hex: from the first capital letter to the end of a line is a comment. */
export const hex = (s: string) => bytes(s.replace(/[A-Z][^\n]*/g, ''));
export const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

export const CALL_CONNECT_REQUEST = hex(`
  10                     Version 1.0
  01                     Reserved 0, C = 1: control
  00 0e                  R 0, Length 14
  00 01                  Message Type: CALL_CONNECT_REQUEST
  00 01                  Num Attributes 1
  00 01 00 06            Reserved, ENCAPSULATED_PROTOCOL_ID, Length 6
  00 01                  Protocol ID: PPP
`);

export const NONCE_256 = bytes('41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72 B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35');
export const CERT_HASH_256 = bytes('79 93 EF 31 4C 49 3D AC E9 F0 2D 60 E7 E6 1C 84 B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D');
export const HLAK_256 = bytes('2A 1B B4 0D 55 AB 0F 5E F3 2F 06 F2 B3 CC 73 C4 8F D3 FA C4 1D 7A 13 15 A1 92 28 D9 02 4C A1 64');
export const MAC_256 = bytes('52 A6 8E FD 8C FF BF 52 77 0B 8F 0F E8 EC 73 71 65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49');

export const CALL_CONNECT_ACK_256 = hex(`
  10 01 00 30            Version, C, Length 48
  00 02 00 01            CALL_CONNECT_ACK, 1 attribute
  00 04 00 28            CRYPTO_BINDING_REQ, Length 40
  00 00 00               Reserved1
  02                     Hash Protocol Bitmask: SHA256
  ${toHex(NONCE_256)}
`);

export const CALL_CONNECTED_256 = hex(`
  10 01 00 70            Version, C, Length 112
  00 04 00 01            CALL_CONNECTED, 1 attribute
  00 03 00 68            CRYPTO_BINDING, Length 104
  00 00 00               Reserved1
  02                     Hash Protocol: SHA256
  ${toHex(NONCE_256)}
  ${toHex(CERT_HASH_256)}
  ${toHex(MAC_256)}
`);

export const NONCE_1 = bytes('0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7 07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF');
export const CERT_HASH_1 = bytes('58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 62 2F D3 4C 53 48 05 A5');
export const HLAK_1 = bytes('4B 31 28 F4 39 25 D9 00 6E EF B1 C4 E8 65 15 A1 D8 8E 56 BA B3 CA 2B DF 03 73 B7 F5 A8 A1 3B 19');
export const MAC_1 = bytes('69 91 5D D5 83 D8 06 2F EF 16 F6 1D B2 F0 32 90 EC 27 CB 6C');

export const CALL_CONNECT_ACK_1 = hex(`
  10 01 00 30 00 02 00 01 00 04 00 28
  00 00 00 01            Reserved1, Hash Protocol Bitmask: SHA1
  ${toHex(NONCE_1)}
`);

export const CALL_CONNECTED_1 = hex(`
  10 01 00 70 00 04 00 01 00 03 00 68
  00 00 00 01            Reserved1, Hash Protocol: SHA1
  ${toHex(NONCE_1)}
  ${toHex(CERT_HASH_1)}
  00 00 00 00 00 00 00 00 00 00 00 00     Padding (12)
  ${toHex(MAC_1)}
  00 00 00 00 00 00 00 00 00 00 00 00     Padding1 (12)
`);
