/*
 * SSTP crypto binding ([MS-SSTP] §3.2.5.2, checked by the server in §3.3.5.2.3): the client's
 * Call Connected message (§2.2.11) proves that the PPP authentication and this TLS connection end
 * at the same two parties.
 *
 *  |10 01 00 70|00 04 00 01|00 03 00 68|00 00 00 HP|  header, CALL_CONNECTED, 1 attribute, Crypto Binding
 *  |  Nonce (32 bytes, from our Call Connect Ack)  |  bytes 16..48
 *  |  Cert Hash (20 + 12 zero, or 32)              |  bytes 48..80
 *  |  Compound MAC (20 + 12 zero, or 32)           |  bytes 80..112
 *
 *   HLAK = 32 bytes of PPP key material (§3.2.5.2.2, §3.2.5.2.4; 32 zero bytes when there is none)
 *   CMK  = first LEN bytes of PRF+(HLAK, "SSTP inner method derived CMK", LEN), LEN = 20 (SHA-1) or 32
 *        = T1 = HMAC(HLAK, seed | LEN as 16 bits little-endian | 0x01), one block being LEN bytes
 *   Compound MAC = HMAC(CMK, the 112 bytes of Call Connected, MAC field and paddings zeroed)
 *
 * Checked against both worked examples of [MS-SSTP] §4.7 (SHA-256 and SHA-1) in the tests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { getAsymmetricStartKey, getMasterKey } from '../crypto/mschapv2.ts';
import { Secret } from '../util/secret.ts';
import { decodeCryptoBinding, encodeCryptoBinding, encodeCryptoBindingRequest, hashLength, NONCE_LENGTH } from './attributes.ts';
import { AttributeId, decodeSstpPacket, encodeControlPacket, HashProtocol, MessageType, type SstpAttribute } from './packet.ts';

export const HLAK_LENGTH = 32;
/** §3.2.5.2.2: "the ASCII values for the string "SSTP inner method derived CMK"" (29 bytes, no terminator). */
export const CMK_SEED = Buffer.from('SSTP inner method derived CMK', 'ascii');
/** §2.2.11: a Call Connected message is always 112 bytes. */
export const CALL_CONNECTED_LENGTH = 112;
/** Where the Cert Hash (with Padding) and the Compound MAC (with Padding1) sit in the Call Connected message. */
export const CERT_HASH_FIELD = { offset: 48, length: 32 } as const;
export const COMPOUND_MAC_FIELD = { offset: 80, length: 32 } as const;

type Key = Uint8Array | Secret<Uint8Array>;
const reveal = (key: Key): Uint8Array => (key instanceof Secret ? key.reveal() : key);
const digestOf = (hashProtocol: number) => (hashProtocol === HashProtocol.SHA1 ? 'sha1' : 'sha256');

/**
 * §3.2.5.2.2: "If the HLAK is more than 32 octets, then the first 32 octets form the HLAK ... If
 * the HLAK is less than 32 octets, then the string is padded with 0x00 at the end", and with no
 * keys at all (PAP, CHAP-MD5, bypassed authentication) "the HLAK MUST be 32 octets of 0x00".
 */
export function hlakFrom(keyMaterial?: Uint8Array): Secret<Uint8Array> {
  const hlak = new Uint8Array(HLAK_LENGTH);
  if (keyMaterial) hlak.set(keyMaterial.subarray(0, HLAK_LENGTH));
  return new Secret(hlak);
}

/**
 * The server's HLAK after MS-CHAPv2: §3.2.5.2.2 and §3.2.5.2.4 say "SSTP Server HLAK =
 * MasterReceiveKey | MasterSendKey", the keys "as specified in [RFC3079] section 3", i.e. the
 * 16-byte (128-bit) start keys of RFC 3079 §3.3 named from the server's side:
 *
 *   MasterReceiveKey = GetAsymmetricStartKey(MasterKey, 16, IsSend = FALSE, IsServer = TRUE)  (Magic2)
 *   MasterSendKey    = GetAsymmetricStartKey(MasterKey, 16, IsSend = TRUE,  IsServer = TRUE)  (Magic3)
 *
 * The client's HLAK is its MasterSendKey | MasterReceiveKey = (TRUE, FALSE) | (FALSE, FALSE),
 * Magic2 | Magic3 again (RFC 3079 §3.4: one side's send key is the other's receive key), so both
 * ends hold the same 32 bytes, which are also the first 32 of `eapMschapv2Msk`. Cross-checks:
 * sstp-client src/sstp-cmac.c builds the server HLAK as MPPE recv key | MPPE send key (flag
 * SSTP_CMAC_SERVER) and the client's as send | recv, and its unit test reproduces the [MS-SSTP]
 * §4.7 HLAK 2A1B…C4 | 8FD3…64 from client keys send = 2A1B…, recv = 8FD3…; accel-ppp's sstp.c
 * takes the server's MPPE recv | send keys likewise. pppd hands those tools the 16-byte start keys
 * whatever MPPE strength is negotiated, so the key length here is always 16.
 */
export function mschapv2ServerHlak(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Secret<Uint8Array> {
  const masterKey = getMasterKey(passwordHashHash, ntResponse);
  const masterReceiveKey = getAsymmetricStartKey(masterKey, 16, false, true);
  const masterSendKey = getAsymmetricStartKey(masterKey, 16, true, true);
  return new Secret(Uint8Array.from(Buffer.concat([masterReceiveKey, masterSendKey])));
}

/** §3.2.5.2.2 / §3.2.5.2.4: CMK = T1 of the PRF+ (one block is exactly the 20 or 32 bytes asked for). */
export function compoundMacKey(hashProtocol: HashProtocol, hlak: Key): Buffer {
  const len = hashLength(hashProtocol);
  return createHmac(digestOf(hashProtocol), reveal(hlak))
    .update(CMK_SEED)
    .update(Uint8Array.of(len & 0xff, len >> 8, 0x01))
    .digest()
    .subarray(0, len);
}

/**
 * §3.2.5.2.1 / §3.2.5.2.3: HMAC over "the entire 112 bytes of the Call Connected message" with "the
 * Compound MAC field and Padding field zeroed out". Zeroed here: the Padding after a SHA-1 Cert Hash
 * and the Compound MAC with its Padding1, so paddings are "ignored on receipt" (§2.2.11) as they
 * must be; the rest is hashed as received, reserved bits included.
 */
export function compoundMac(hashProtocol: HashProtocol, hlak: Key, callConnected: Uint8Array): Buffer {
  const input = Uint8Array.from(callConnected);
  input.fill(0, CERT_HASH_FIELD.offset + hashLength(hashProtocol), COMPOUND_MAC_FIELD.offset + COMPOUND_MAC_FIELD.length);
  return createHmac(digestOf(hashProtocol), compoundMacKey(hashProtocol, hlak)).update(input).digest();
}

/** The CRYPTO_BINDING_REQ attribute of our Call Connect Ack (§2.2.10): the hashes we accept and a fresh nonce. */
export function cryptoBindingRequest(nonce: Uint8Array, hashes: number): SstpAttribute {
  if ((hashes & (HashProtocol.SHA1 | HashProtocol.SHA256)) === 0 || (hashes & ~0x03) !== 0) {
    throw new RangeError(`hash protocol bitmask 0x${hashes.toString(16)}: §2.2.6 wants SHA1 (1) and/or SHA256 (2)`);
  }
  return encodeCryptoBindingRequest({ hashProtocolBitmask: hashes, nonce });
}

/** The client's Call Connected (§3.2.7.1): for tests, interop checks and an eventual SSTP client. */
export function encodeCallConnected(input: { readonly hashProtocol: HashProtocol; readonly nonce: Uint8Array; readonly certHash: Uint8Array; readonly hlak: Key }): Uint8Array {
  const n = hashLength(input.hashProtocol);
  const unsigned = encodeControlPacket(MessageType.CALL_CONNECTED, [
    encodeCryptoBinding({ hashProtocol: input.hashProtocol, nonce: input.nonce, certHash: input.certHash, compoundMac: new Uint8Array(n) }),
  ]);
  unsigned.set(compoundMac(input.hashProtocol, input.hlak, unsigned).subarray(0, n), COMPOUND_MAC_FIELD.offset);
  return unsigned;
}

/**
 * Why a Call Connected was refused. 'malformed' is §3.3.5.2.3's "attribute is not present OR an
 * invalid length" (aborted with ATTRIB_NOT_SUPPORTED_IN_MSG); the others its "nonce is not
 * matching OR the certificate does not match OR the hash algorithm does not match OR the Compound
 * MAC is invalid" (aborted with VALUE_NOT_SUPPORTED).
 */
export type CryptoBindingError = 'malformed' | 'unsupported-hash' | 'bad-nonce' | 'bad-cert-hash' | 'bad-compound-mac';

export interface CryptoBindingExpectations {
  /** The nonce of our Call Connect Ack. */
  readonly nonce: Uint8Array;
  /** SHA-256 and SHA-1 of the DER server certificate the TLS layer presented (ServerCertificateHash). */
  readonly certHash256: Uint8Array;
  readonly certHash1?: Uint8Array;
  /** ServerHLAKKey (§3.3.1), from the PPP layer's Inner Authentication Completed event. */
  readonly hlak: Key;
  /** The bitmask we sent in the Ack (ServerHashProtocolSupported); both by default. */
  readonly hashProtocols?: number;
}

export type CryptoBindingVerdict =
  | { readonly ok: true; readonly hashProtocol: HashProtocol }
  | { readonly ok: false; readonly error: CryptoBindingError; readonly detail: string };

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);
const refuse = (error: CryptoBindingError, detail: string): CryptoBindingVerdict => ({ ok: false, error, detail });

/** §3.3.5.2.3: the server's checks of a Call Connected message, in the spec's order. Never throws. */
export function verifyCallConnected(packet: Uint8Array, expect: CryptoBindingExpectations): CryptoBindingVerdict {
  const decoded = decodeSstpPacket(packet);
  if (!decoded.ok) return refuse('malformed', decoded.error.message);
  const message = decoded.value;
  if (message.kind !== 'control' || message.messageType !== MessageType.CALL_CONNECTED) return refuse('malformed', 'not a Call Connected message');
  const [attribute, ...others] = message.attributes;
  if (attribute?.attributeId !== AttributeId.CRYPTO_BINDING || others.length > 0) return refuse('malformed', 'Call Connected must carry exactly one Crypto Binding attribute');
  const binding = decodeCryptoBinding(attribute.value);
  if (!binding.ok || packet.length !== CALL_CONNECTED_LENGTH) return refuse('malformed', binding.ok ? `Call Connected is ${packet.length} bytes, not 112` : binding.error.message);

  const { hashProtocol, nonce, certHash, compoundMac: received } = binding.value;
  const offered = expect.hashProtocols ?? HashProtocol.SHA1 | HashProtocol.SHA256;
  if ((hashProtocol !== HashProtocol.SHA1 && hashProtocol !== HashProtocol.SHA256) || (offered & hashProtocol) === 0) {
    return refuse('unsupported-hash', `Hash Protocol 0x${hashProtocol.toString(16)} was not offered (bitmask 0x${offered.toString(16)})`);
  }
  if (expect.nonce.length !== NONCE_LENGTH || !same(nonce, expect.nonce)) return refuse('bad-nonce', 'the nonce is not the one of our Call Connect Ack');
  const ourHash = hashProtocol === HashProtocol.SHA1 ? expect.certHash1 : expect.certHash256;
  if (!ourHash) return refuse('unsupported-hash', 'no SHA-1 hash of our certificate to compare with');
  if (!same(certHash, ourHash)) return refuse('bad-cert-hash', `the ${hashProtocol === HashProtocol.SHA1 ? 'SHA-1' : 'SHA-256'} Cert Hash is not that of our certificate (a TLS man in the middle?)`);
  const expected = compoundMac(hashProtocol, expect.hlak, packet).subarray(0, hashLength(hashProtocol));
  if (!same(received, expected)) return refuse('bad-compound-mac', 'invalid Compound MAC');
  return { ok: true, hashProtocol };
}
