import { prf, prfPlus } from './prf.ts';
import type { CipherSuite, PrfAlgorithm } from './transforms.ts';

/** RFC 7296 §2.14: the seven keys of an IKE SA. Held in memory only; never logged. */
export interface IkeSaKeys {
  readonly skD: Buffer;
  readonly skAi: Buffer;
  readonly skAr: Buffer;
  readonly skEi: Buffer;
  readonly skEr: Buffer;
  readonly skPi: Buffer;
  readonly skPr: Buffer;
}

/** One direction of an SA: the encryption key (with the AEAD salt appended) and the integrity key. */
export interface DirectionKeys {
  readonly encryption: Buffer;
  readonly integrity?: Buffer;
}

function spiBytes(spi: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(spi);
  return b;
}

const encrKeyLength = (s: CipherSuite) => s.encr.keyLength + s.encr.saltLength;

/**
 * The keys as views of one exact-size buffer of their own. Small Buffers are slices of Node's
 * shared 8 KB pool, and a key kept for an SA's life would keep its whole slab alive: at thousands
 * of SAs that was about 2.7 KB per SA (issue 23).
 */
function cut(material: Buffer, lengths: readonly number[]): Buffer[] {
  const own = Buffer.allocUnsafeSlow(lengths.reduce((sum, n) => sum + n, 0));
  material.copy(own, 0, 0, own.length);
  const out: Buffer[] = [];
  let at = 0;
  for (const n of lengths) {
    out.push(own.subarray(at, at + n));
    at += n;
  }
  return out;
}

/**
 * The seven keys in the order prf+ makes them, in one exact-size buffer; each key a view made when
 * asked for. Seven views held for an SA's life cost about 0.7 KB per SA at thousands of them (issue 23).
 */
class PackedIkeSaKeys implements IkeSaKeys {
  readonly #all: Buffer;
  readonly #p: number;
  readonly #a: number;
  readonly #e: number;

  constructor(material: Buffer, p: number, a: number, e: number) {
    this.#all = Buffer.allocUnsafeSlow(p + 2 * a + 2 * e + 2 * p);
    material.copy(this.#all, 0, 0, this.#all.length);
    this.#p = p;
    this.#a = a;
    this.#e = e;
  }

  #at(offset: number, length: number): Buffer {
    return this.#all.subarray(offset, offset + length);
  }

  get skD(): Buffer { return this.#at(0, this.#p); }
  get skAi(): Buffer { return this.#at(this.#p, this.#a); }
  get skAr(): Buffer { return this.#at(this.#p + this.#a, this.#a); }
  get skEi(): Buffer { return this.#at(this.#p + 2 * this.#a, this.#e); }
  get skEr(): Buffer { return this.#at(this.#p + 2 * this.#a + this.#e, this.#e); }
  get skPi(): Buffer { return this.#at(this.#p + 2 * this.#a + 2 * this.#e, this.#p); }
  get skPr(): Buffer { return this.#at(2 * this.#p + 2 * this.#a + 2 * this.#e, this.#p); }
}

function ikeKeysFrom(alg: PrfAlgorithm, skeyseed: Buffer, suite: CipherSuite, ni: Uint8Array, nr: Uint8Array, spiI: bigint, spiR: bigint): IkeSaKeys {
  const a = suite.integ?.keyLength ?? 0;
  const e = encrKeyLength(suite);
  const p = alg.keyLength;
  const seed = Buffer.concat([ni, nr, spiBytes(spiI), spiBytes(spiR)]);
  return new PackedIkeSaKeys(prfPlus(alg, skeyseed, seed, p + 2 * a + 2 * e + 2 * p), p, a, e);
}

/** A new IKE SA: SKEYSEED = prf(Ni | Nr, g^ir), then prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
export function deriveIkeSaKeys(alg: PrfAlgorithm, suite: CipherSuite, ni: Uint8Array, nr: Uint8Array, sharedSecret: Uint8Array, spiI: bigint, spiR: bigint): { skeyseed: Buffer; keys: IkeSaKeys } {
  const skeyseed = prf(alg, Buffer.concat([ni, nr]), sharedSecret);
  return { skeyseed, keys: ikeKeysFrom(alg, skeyseed, suite, ni, nr, spiI, spiR) };
}

/** A rekeyed IKE SA (§2.18): SKEYSEED = prf(SK_d old, g^ir new | Ni | Nr), with the old SA's PRF. */
export function deriveRekeyedIkeSaKeys(
  oldAlg: PrfAlgorithm, oldSkD: Uint8Array, alg: PrfAlgorithm, suite: CipherSuite, ni: Uint8Array, nr: Uint8Array, sharedSecret: Uint8Array, spiI: bigint, spiR: bigint,
): { skeyseed: Buffer; keys: IkeSaKeys } {
  const skeyseed = prf(oldAlg, oldSkD, Buffer.concat([sharedSecret, ni, nr]));
  return { skeyseed, keys: ikeKeysFrom(alg, skeyseed, suite, ni, nr, spiI, spiR) };
}

/**
 * Child SA keys (§2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); the initiator-to-responder
 * encryption and integrity keys come first, then the other direction's.
 */
export function deriveChildSaKeys(alg: PrfAlgorithm, skD: Uint8Array, suite: CipherSuite, ni: Uint8Array, nr: Uint8Array, pfsSecret?: Uint8Array): { initiatorToResponder: DirectionKeys; responderToInitiator: DirectionKeys } {
  const e = encrKeyLength(suite);
  const a = suite.integ?.keyLength ?? 0;
  const seed = Buffer.concat(pfsSecret ? [pfsSecret, ni, nr] : [ni, nr]);
  const [ei, ai, er, ar] = cut(prfPlus(alg, skD, seed, 2 * (e + a)), [e, a, e, a]);
  const direction = (encryption: Buffer, integrity: Buffer): DirectionKeys => (a ? { encryption, integrity } : { encryption });
  return { initiatorToResponder: direction(ei!, ai!), responderToInitiator: direction(er!, ar!) };
}
