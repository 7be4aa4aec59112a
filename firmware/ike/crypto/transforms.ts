import { EncrId, IntegId, PrfId, TransformType } from '../registry/numbers.ts';
import type { Transform } from '../payloads/sa.ts';

/**
 * What a negotiated transform means for the crypto: key sizes, IV and ICV lengths, hash names for
 * node:crypto. One table each, so a new algorithm is one row (RFC 7296 §3.3.2, RFC 5282, RFC 7634).
 */

export interface EncrAlgorithm {
  readonly id: number;
  /** node:crypto cipher name. */
  readonly cipher: string;
  readonly keyLength: number;
  /** AEAD: the salt cut from the end of the key material (RFC 5282 §7.1, RFC 7634 §2.2). */
  readonly saltLength: number;
  readonly ivLength: number;
  readonly icvLength: number;
  readonly blockSize: number;
  readonly aead: boolean;
}

export interface IntegAlgorithm {
  readonly id: number;
  readonly hash: string;
  readonly keyLength: number;
  readonly icvLength: number;
}

export interface PrfAlgorithm {
  readonly id: number;
  readonly hash: string;
  /** The preferred key size is the output size (RFC 7296 §2.13). */
  readonly keyLength: number;
}

/**
 * One object per algorithm and key size, and per suite, shared by every SA that negotiated it: each
 * SA had its own (issue 23). Only known algorithms are kept, so peer input cannot grow the tables.
 */
const ENCR_SHARED = new Map<number, EncrAlgorithm>();
const SUITES_SHARED = new Map<EncrAlgorithm, Map<IntegAlgorithm | undefined, CipherSuite>>();

export function encrAlgorithm(t: Transform): EncrAlgorithm | undefined {
  const key = t.id * 0x1_0000 + (t.keyLength ?? 0);
  const shared = ENCR_SHARED.get(key);
  if (shared) return shared;
  const made = makeEncrAlgorithm(t);
  if (made) ENCR_SHARED.set(key, Object.freeze(made));
  return made;
}

function makeEncrAlgorithm(t: Transform): EncrAlgorithm | undefined {
  const bits = t.keyLength ?? 0;
  switch (t.id) {
    case EncrId.ENCR_AES_CBC:
      if (bits !== 128 && bits !== 192 && bits !== 256) return undefined;
      return { id: t.id, cipher: `aes-${bits}-cbc`, keyLength: bits / 8, saltLength: 0, ivLength: 16, icvLength: 0, blockSize: 16, aead: false };
    case EncrId.ENCR_AES_GCM_16:
      if (bits !== 128 && bits !== 192 && bits !== 256) return undefined;
      return { id: t.id, cipher: `aes-${bits}-gcm`, keyLength: bits / 8, saltLength: 4, ivLength: 8, icvLength: 16, blockSize: 4, aead: true };
    case EncrId.ENCR_3DES: // RFC 2451: three 8-byte DES keys, 64-bit blocks (weak; flagged in config)
      return bits === 0 || bits === 192 ? { id: t.id, cipher: 'des-ede3-cbc', keyLength: 24, saltLength: 0, ivLength: 8, icvLength: 0, blockSize: 8, aead: false } : undefined;
    case EncrId.ENCR_CHACHA20_POLY1305:
      return { id: t.id, cipher: 'chacha20-poly1305', keyLength: 32, saltLength: 4, ivLength: 8, icvLength: 16, blockSize: 4, aead: true };
    default:
      return undefined;
  }
}

const INTEG: Record<number, IntegAlgorithm> = {
  [IntegId.AUTH_HMAC_SHA1_96]: { id: IntegId.AUTH_HMAC_SHA1_96, hash: 'sha1', keyLength: 20, icvLength: 12 },
  [IntegId.AUTH_HMAC_SHA2_256_128]: { id: IntegId.AUTH_HMAC_SHA2_256_128, hash: 'sha256', keyLength: 32, icvLength: 16 },
  [IntegId.AUTH_HMAC_SHA2_384_192]: { id: IntegId.AUTH_HMAC_SHA2_384_192, hash: 'sha384', keyLength: 48, icvLength: 24 },
  [IntegId.AUTH_HMAC_SHA2_512_256]: { id: IntegId.AUTH_HMAC_SHA2_512_256, hash: 'sha512', keyLength: 64, icvLength: 32 },
};

const PRF: Record<number, PrfAlgorithm> = {
  [PrfId.PRF_HMAC_SHA1]: { id: PrfId.PRF_HMAC_SHA1, hash: 'sha1', keyLength: 20 },
  [PrfId.PRF_HMAC_SHA2_256]: { id: PrfId.PRF_HMAC_SHA2_256, hash: 'sha256', keyLength: 32 },
  [PrfId.PRF_HMAC_SHA2_384]: { id: PrfId.PRF_HMAC_SHA2_384, hash: 'sha384', keyLength: 48 },
  [PrfId.PRF_HMAC_SHA2_512]: { id: PrfId.PRF_HMAC_SHA2_512, hash: 'sha512', keyLength: 64 },
};

export const integAlgorithm = (t: Transform): IntegAlgorithm | undefined => INTEG[t.id];
export const prfAlgorithm = (t: Transform): PrfAlgorithm | undefined => PRF[t.id];

/** The algorithms of a chosen IKE or ESP proposal; undefined when one is not implemented. */
export interface CipherSuite {
  readonly encr: EncrAlgorithm;
  /** Absent for AEAD ciphers. */
  readonly integ?: IntegAlgorithm;
}

export function cipherSuite(transforms: readonly Transform[]): CipherSuite | undefined {
  const e = transforms.find((t) => t.type === TransformType.ENCR);
  const i = transforms.find((t) => t.type === TransformType.INTEG && t.id !== IntegId.NONE);
  const encr = e && encrAlgorithm(e);
  if (!encr) return undefined;
  if (encr.aead) return i ? undefined : sharedSuite(encr, undefined);
  const integ = i && integAlgorithm(i);
  return integ ? sharedSuite(encr, integ) : undefined;
}

function sharedSuite(encr: EncrAlgorithm, integ: IntegAlgorithm | undefined): CipherSuite {
  let byInteg = SUITES_SHARED.get(encr);
  if (!byInteg) SUITES_SHARED.set(encr, (byInteg = new Map()));
  let suite = byInteg.get(integ);
  if (!suite) byInteg.set(integ, (suite = Object.freeze(integ ? { encr, integ } : { encr })));
  return suite;
}
