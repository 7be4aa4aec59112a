/*
 * The values of the SSTP attributes ([MS-SSTP] §2.2.5 to §2.2.8), after the 4-byte attribute
 * header of packet.ts (Reserved, Attribute ID, R, Length):
 *
 * Encapsulated Protocol ID (§2.2.5), Length 6:
 *  |          Protocol ID          |
 *
 * Crypto Binding Request (§2.2.6), Length 40:
 *  |                  Reserved1                    | Hash Prot Mask|
 *  |  Nonce (32 bytes) ...
 *
 * Crypto Binding (§2.2.7), Length 104:
 *  |                  Reserved1                    | Hash Protocol |
 *  |  Nonce (32 bytes) ...
 *  |  Cert Hash (20 bytes SHA-1 or 32 SHA-256) | Padding (12 or 0) |
 *  |  Compound MAC (20 or 32 bytes)            | Padding1 (12 or 0)|
 *
 * Status Info (§2.2.8), Length 12 + n:
 *  |                  Reserved1                    |   AttribID    |
 *  |                            Status                             |
 *  |  AttribValue (n <= 64 bytes) ...
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { AttributeId, ENCAPSULATED_PROTOCOL_PPP, HashProtocol, type SstpAttribute } from './packet.ts';

export const NONCE_LENGTH = 32;
/** The value lengths: the attribute Lengths of §2.2.5 to §2.2.7 less the 4-byte header. */
export const ENCAPSULATED_PROTOCOL_ID_LENGTH = 2;
export const CRYPTO_BINDING_REQ_LENGTH = 36;
export const CRYPTO_BINDING_LENGTH = 100;
/** §2.2.8: "The maximum length of this field MUST be 64 bytes." */
export const MAX_ATTRIB_VALUE_LENGTH = 64;

/** Cert Hash and Compound MAC lengths by Hash Protocol (§2.2.7): 20 for SHA-1, 32 for SHA-256. */
export const hashLength = (hashProtocol: number): 20 | 32 => (hashProtocol === HashProtocol.SHA1 ? 20 : 32);

const expectLength = <T>(what: string, value: Uint8Array, length: number, parse: () => T): Decoded<T> =>
  value.length === length ? ok(parse()) : fail('INVALID_SYNTAX', `${what} value is ${value.length} bytes, not ${length}`, 0);

/** §2.2.5: the Protocol ID. */
export function decodeEncapsulatedProtocolId(value: Uint8Array): Decoded<number> {
  return expectLength('Encapsulated Protocol ID', value, ENCAPSULATED_PROTOCOL_ID_LENGTH, () => ((value[0] ?? 0) << 8) | (value[1] ?? 0));
}

export function encodeEncapsulatedProtocolId(protocolId: number = ENCAPSULATED_PROTOCOL_PPP): SstpAttribute {
  return { attributeId: AttributeId.ENCAPSULATED_PROTOCOL_ID, value: Uint8Array.of(protocolId >> 8, protocolId & 0xff) };
}

export interface CryptoBindingRequest {
  /** CERT_HASH_PROTOCOL_SHA1 (1) and/or _SHA256 (2) (§2.2.6). */
  readonly hashProtocolBitmask: number;
  readonly nonce: Uint8Array;
}

export function decodeCryptoBindingRequest(value: Uint8Array): Decoded<CryptoBindingRequest> {
  return expectLength('Crypto Binding Request', value, CRYPTO_BINDING_REQ_LENGTH, () => ({
    hashProtocolBitmask: value[3] ?? 0,
    nonce: value.subarray(4, 4 + NONCE_LENGTH),
  }));
}

export function encodeCryptoBindingRequest(request: CryptoBindingRequest): SstpAttribute {
  if (request.nonce.length !== NONCE_LENGTH) throw new RangeError(`nonce must be ${NONCE_LENGTH} bytes`);
  const value = new Uint8Array(CRYPTO_BINDING_REQ_LENGTH);
  value[3] = request.hashProtocolBitmask;
  value.set(request.nonce, 4);
  return { attributeId: AttributeId.CRYPTO_BINDING_REQ, value };
}

export interface CryptoBinding {
  readonly hashProtocol: number;
  readonly nonce: Uint8Array;
  /** Without its Padding: 20 bytes for SHA-1, 32 otherwise. */
  readonly certHash: Uint8Array;
  /** Without its Padding1: 20 bytes for SHA-1, 32 otherwise. */
  readonly compoundMac: Uint8Array;
}

/** Offsets inside the Crypto Binding value. */
export const CERT_HASH_OFFSET = 36;
export const COMPOUND_MAC_OFFSET = 68;

/** §2.2.7. The paddings "MUST be ignored on receipt", so they are not checked. */
export function decodeCryptoBinding(value: Uint8Array): Decoded<CryptoBinding> {
  return expectLength('Crypto Binding', value, CRYPTO_BINDING_LENGTH, () => {
    const hashProtocol = value[3] ?? 0;
    const n = hashLength(hashProtocol);
    return {
      hashProtocol,
      nonce: value.subarray(4, 4 + NONCE_LENGTH),
      certHash: value.subarray(CERT_HASH_OFFSET, CERT_HASH_OFFSET + n),
      compoundMac: value.subarray(COMPOUND_MAC_OFFSET, COMPOUND_MAC_OFFSET + n),
    };
  });
}

export function encodeCryptoBinding(binding: CryptoBinding): SstpAttribute {
  const n = hashLength(binding.hashProtocol);
  if (binding.nonce.length !== NONCE_LENGTH) throw new RangeError(`nonce must be ${NONCE_LENGTH} bytes`);
  if (binding.certHash.length !== n || binding.compoundMac.length !== n) throw new RangeError(`Cert Hash and Compound MAC must be ${n} bytes`);
  const value = new Uint8Array(CRYPTO_BINDING_LENGTH);
  value[3] = binding.hashProtocol;
  value.set(binding.nonce, 4);
  value.set(binding.certHash, CERT_HASH_OFFSET);
  value.set(binding.compoundMac, COMPOUND_MAC_OFFSET);
  return { attributeId: AttributeId.CRYPTO_BINDING, value };
}

export interface StatusInfo {
  /** The attribute the status is about (an `AttributeId`, NO_ERROR for none). */
  readonly attribId: number;
  /** An `AttribStatus`. */
  readonly status: number;
  /** In a Call Connect NAK, the value the client proposed (§2.2.8); empty otherwise. */
  readonly attribValue: Uint8Array;
}

export function decodeStatusInfo(value: Uint8Array): Decoded<StatusInfo> {
  if (value.length < 8) return fail('TRUNCATED', `Status Info value is ${value.length} bytes, less than 8`, 0);
  if (value.length > 8 + MAX_ATTRIB_VALUE_LENGTH) return fail('INVALID_SYNTAX', `Status Info AttribValue exceeds ${MAX_ATTRIB_VALUE_LENGTH} bytes`, 8);
  const status = (((value[4] ?? 0) << 24) | ((value[5] ?? 0) << 16) | ((value[6] ?? 0) << 8) | (value[7] ?? 0)) >>> 0;
  return ok({ attribId: value[3] ?? 0, status, attribValue: value.subarray(8) });
}

/** §2.2.8: "If the original attribute is greater than 64 bytes, only the first 64 bytes are sent back." */
export function encodeStatusInfo(info: { readonly attribId: number; readonly status: number; readonly attribValue?: Uint8Array }): SstpAttribute {
  const attribValue = (info.attribValue ?? new Uint8Array(0)).subarray(0, MAX_ATTRIB_VALUE_LENGTH);
  const value = new Uint8Array(8 + attribValue.length);
  value[3] = info.attribId;
  new DataView(value.buffer, value.byteOffset, value.byteLength).setUint32(4, info.status >>> 0);
  value.set(attribValue, 8);
  return { attributeId: AttributeId.STATUS_INFO, value };
}
