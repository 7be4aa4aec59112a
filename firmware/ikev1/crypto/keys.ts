import { createHash } from 'node:crypto';
import { prf } from '../../ike/crypto/prf.ts';
import type { PrfAlgorithm } from '../../ike/crypto/transforms.ts';

/**
 * IKEv1 key material (RFC 2409 §5, §5.5, §5.7, Appendix B) and the NAT-D hash (RFC 3947 §3.2).
 * `prf` is HMAC with the negotiated hash (RFC 2409 §4). The `_b` arguments are payload bodies
 * without their generic headers. Keys are held in memory only and never logged.
 */

export interface Phase1Keys {
  readonly skeyid: Buffer;
  readonly skeyidD: Buffer;
  readonly skeyidA: Buffer;
  readonly skeyidE: Buffer;
  /** The cipher key cut or expanded from SKEYID_e (Appendix B). */
  readonly encryptionKey: Buffer;
}

export function cookieBytes(cookie: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(cookie);
  return b;
}

const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);

/** §5: SKEYID for pre-shared keys, prf(pre-shared-key, Ni_b | Nr_b). */
export const skeyidPsk = (alg: PrfAlgorithm, psk: Uint8Array, ni: Uint8Array, nr: Uint8Array): Buffer => prf(alg, psk, cat(ni, nr));

/** §5: SKEYID for signatures, prf(Ni_b | Nr_b, g^xy). */
export const skeyidSignature = (alg: PrfAlgorithm, ni: Uint8Array, nr: Uint8Array, gxy: Uint8Array): Buffer => prf(alg, cat(ni, nr), gxy);

/**
 * Appendix B: when SKEYID_e is shorter than the cipher's key, Ka = K1 | K2 | … with
 * K1 = prf(SKEYID_e, 0) (one zero octet) and Kn = prf(SKEYID_e, Kn-1); otherwise its first bytes.
 */
export function encryptionKey(alg: PrfAlgorithm, skeyidE: Buffer, length: number): Buffer {
  if (skeyidE.length >= length) return Buffer.from(skeyidE.subarray(0, length));
  const blocks: Buffer[] = [];
  let previous: Uint8Array = Uint8Array.of(0);
  for (let total = 0; total < length; ) {
    previous = prf(alg, skeyidE, previous);
    blocks.push(previous as Buffer);
    total += previous.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/**
 * §5: SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0),
 * SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1),
 * SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2).
 */
export function phase1Keys(alg: PrfAlgorithm, skeyid: Buffer, gxy: Uint8Array, ckyI: bigint, ckyR: bigint, cipherKeyLength: number): Phase1Keys {
  const cookies = cat(cookieBytes(ckyI), cookieBytes(ckyR));
  const skeyidD = prf(alg, skeyid, cat(gxy, cookies, Uint8Array.of(0)));
  const skeyidA = prf(alg, skeyid, cat(skeyidD, gxy, cookies, Uint8Array.of(1)));
  const skeyidE = prf(alg, skeyid, cat(skeyidA, gxy, cookies, Uint8Array.of(2)));
  return { skeyid, skeyidD, skeyidA, skeyidE, encryptionKey: encryptionKey(alg, skeyidE, cipherKeyLength) };
}

/** The inputs of HASH_I and HASH_R, named from the initiator's side. */
export interface AuthInputs {
  readonly gxi: Uint8Array;
  readonly gxr: Uint8Array;
  readonly ckyI: bigint;
  readonly ckyR: bigint;
  /** The initiator's SA payload body: both hashes cover the offer, not the answer. */
  readonly saiB: Uint8Array;
}

/** §5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b). */
export const hashI = (alg: PrfAlgorithm, skeyid: Buffer, v: AuthInputs, idiiB: Uint8Array): Buffer =>
  prf(alg, skeyid, cat(v.gxi, v.gxr, cookieBytes(v.ckyI), cookieBytes(v.ckyR), v.saiB, idiiB));

/** §5: HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b). */
export const hashR = (alg: PrfAlgorithm, skeyid: Buffer, v: AuthInputs, idirB: Uint8Array): Buffer =>
  prf(alg, skeyid, cat(v.gxr, v.gxi, cookieBytes(v.ckyR), cookieBytes(v.ckyI), v.saiB, idirB));

function messageIdBytes(mid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(mid >>> 0);
  return b;
}

/**
 * §5.5: HASH(1) = prf(SKEYID_a, M-ID | the message after the HASH payload, generic headers
 * included). §5.7 uses the same form for informational exchanges.
 */
export const quickModeHash1 = (alg: PrfAlgorithm, skeyidA: Buffer, mid: number, after: Uint8Array): Buffer => prf(alg, skeyidA, cat(messageIdBytes(mid), after));

/** §5.5: HASH(2) = prf(SKEYID_a, M-ID | Ni_b | the message after the HASH payload). */
export const quickModeHash2 = (alg: PrfAlgorithm, skeyidA: Buffer, mid: number, niB: Uint8Array, after: Uint8Array): Buffer =>
  prf(alg, skeyidA, cat(messageIdBytes(mid), niB, after));

/** §5.5: HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). */
export const quickModeHash3 = (alg: PrfAlgorithm, skeyidA: Buffer, mid: number, niB: Uint8Array, nrB: Uint8Array): Buffer =>
  prf(alg, skeyidA, cat(Uint8Array.of(0), messageIdBytes(mid), niB, nrB));

/**
 * §5.5: KEYMAT = K1 | K2 | … with K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) and
 * Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b). The SPI is the one the
 * receiving side chose: our SPI for the inbound SA, the peer's for the outbound one.
 */
export function keymat(alg: PrfAlgorithm, skeyidD: Buffer, protocol: number, spi: number, niB: Uint8Array, nrB: Uint8Array, length: number, gqmxy?: Uint8Array): Buffer {
  const seed = cat(gqmxy ?? new Uint8Array(0), Uint8Array.of(protocol), messageIdBytes(spi), niB, nrB);
  const blocks: Buffer[] = [];
  let previous: Uint8Array = new Uint8Array(0);
  for (let total = 0; total < length; ) {
    previous = prf(alg, skeyidD, cat(previous, seed));
    blocks.push(previous as Buffer);
    total += previous.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RFC 3947 §3.2: HASH(CKY-I | CKY-R | IP | Port), the negotiated hash itself (not HMAC). */
export function natDetectionHash(hash: string, ckyI: bigint, ckyR: bigint, address: Uint8Array, port: number): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return createHash(hash).update(cat(cookieBytes(ckyI), cookieBytes(ckyR), address, p)).digest();
}
