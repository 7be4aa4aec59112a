import { verify, type KeyObject } from 'node:crypto';

/**
 * Signatures over a CRL's TBSCertList or an OCSP ResponseData (RFC 5280 §5.1.1.2, RFC 6960 §4.2.1),
 * for the algorithms CAs use: RSA PKCS#1 v1.5 (RFC 4055), ECDSA (RFC 5758) and Ed25519 (RFC 8410).
 * RSASSA-PSS needs its parameters read and is refused as unsupported.
 */
const HASH_OF: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519: no separate hash
};

/** True when `signature` over `data` verifies with `key` under `algorithm`; never throws. */
export function verifySigned(data: Uint8Array, algorithm: string, signature: Uint8Array, key: KeyObject): boolean {
  const hash = HASH_OF[algorithm];
  if (hash === undefined) return false;
  const keyType = key.asymmetricKeyType;
  const family = algorithm.startsWith('1.2.840.113549') ? 'rsa' : algorithm.startsWith('1.2.840.10045') ? 'ec' : 'ed25519';
  if (keyType !== family) return false;
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}
