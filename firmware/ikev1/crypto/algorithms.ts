import type { PrfAlgorithm } from '../../ike/crypto/transforms.ts';
import { EspSuite } from '../../dataplane/types.ts';
import { AuthAlgorithm, EncryptionAlgorithm, EspTransformId, HashAlgorithm } from '../registry.ts';

/**
 * What negotiated IKEv1 numbers mean for the crypto: phase 1 ciphers and hashes (RFC 2409
 * Appendix A; AES RFC 3602 §5; SHA2 RFC 4868 §3), and phase 2 ESP transforms mapped onto the data
 * plane's suites. One row per algorithm.
 */

export interface Phase1Cipher {
  readonly id: number;
  /** node:crypto name. */
  readonly cipher: string;
  readonly keyLength: number;
  readonly blockSize: number;
}

/** The cipher for an encryption algorithm and key length in bits (0 when the attribute was absent). */
export function phase1Cipher(id: number, keyBits: number): Phase1Cipher | undefined {
  if (id === EncryptionAlgorithm['3DES_CBC']) return keyBits === 0 || keyBits === 192 ? { id, cipher: 'des-ede3-cbc', keyLength: 24, blockSize: 8 } : undefined;
  // RFC 3602 §5 asks for the Key Length attribute with AES; it is required here as strongSwan does.
  if (id === EncryptionAlgorithm.AES_CBC && (keyBits === 128 || keyBits === 192 || keyBits === 256)) return { id, cipher: `aes-${keyBits}-cbc`, keyLength: keyBits / 8, blockSize: 16 };
  return undefined;
}

const HASH: Record<number, string> = {
  [HashAlgorithm.MD5]: 'md5', [HashAlgorithm.SHA]: 'sha1', [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384', [HashAlgorithm.SHA2_512]: 'sha512',
};
const OUTPUT: Record<string, number> = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** RFC 2409 §4: with no PRF attribute, the PRF is the HMAC of the negotiated hash. */
export function phase1Prf(hashId: number): PrfAlgorithm | undefined {
  const hash = HASH[hashId];
  return hash ? { id: hashId, hash, keyLength: OUTPUT[hash] as number } : undefined;
}

export interface EspAlgorithms {
  readonly suite: EspSuite;
  /** KEYMAT is cut as encryption key (with the GCM salt) then integrity key (RFC 2409 §5.5). */
  readonly encryptionKeyLength: number;
  readonly integrityKeyLength: number;
}

const TRIPLE_DES: Partial<Record<number, { suite: EspSuite; integrityKeyLength: number }>> = {
  [AuthAlgorithm.HMAC_SHA]: { suite: EspSuite.tripleDesCbcHmacSha1, integrityKeyLength: 20 },
  [AuthAlgorithm.HMAC_SHA2_256]: { suite: EspSuite.tripleDesCbcHmacSha256, integrityKeyLength: 32 },
  [AuthAlgorithm.HMAC_SHA2_384]: { suite: EspSuite.tripleDesCbcHmacSha384, integrityKeyLength: 48 },
};

/** An ESP transform ID, key length in bits and authentication algorithm as a data-plane suite. */
export function espAlgorithms(transformId: number, keyBits: number, auth: number | undefined): EspAlgorithms | undefined {
  const bits = keyBits === 0 ? 128 : keyBits; // RFC 3602 §5: 128 when the attribute is absent
  if (transformId === EspTransformId.ESP_AES && (bits === 128 || bits === 256)) {
    if (auth === AuthAlgorithm.HMAC_SHA) return { suite: bits === 128 ? EspSuite.aesCbc128HmacSha1 : EspSuite.aesCbc256HmacSha1, encryptionKeyLength: bits / 8, integrityKeyLength: 20 };
    if (auth === AuthAlgorithm.HMAC_SHA2_256) return { suite: bits === 128 ? EspSuite.aesCbc128HmacSha256 : EspSuite.aesCbc256HmacSha256, encryptionKeyLength: bits / 8, integrityKeyLength: 32 };
    return undefined;
  }
  // RFC 2451: 3DES has one key length (192 bits, no Key Length attribute); weak, flagged in config warnings.
  if (transformId === EspTransformId.ESP_3DES && (keyBits === 0 || keyBits === 192)) {
    const suite = auth === undefined ? undefined : TRIPLE_DES[auth];
    return suite && { suite: suite.suite, encryptionKeyLength: 24, integrityKeyLength: suite.integrityKeyLength };
  }
  // RFC 4106 §8.1: the key is followed by a 4-byte salt; no authentication algorithm is sent.
  if (transformId === EspTransformId.ESP_AES_GCM_16 && auth === undefined && (bits === 128 || bits === 256)) {
    return { suite: bits === 128 ? EspSuite.aesGcm128 : EspSuite.aesGcm256, encryptionKeyLength: bits / 8 + 4, integrityKeyLength: 0 };
  }
  return undefined;
}
