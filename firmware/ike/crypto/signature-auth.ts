import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { AuthMethod } from '../payloads/auth.ts';

/**
 * Signatures in AUTH payloads: RSA PKCS#1 v1.5 with SHA-1 (method 1, RFC 7296 §3.8, what older
 * Windows clients use), ECDSA with SHA-256 on P-256 (method 9, RFC 4754: r | s), and RFC 7427
 * digital signatures (method 14: an AlgorithmIdentifier in front, any hash the peer announced in
 * SIGNATURE_HASH_ALGORITHMS).
 */

/** RFC 7427 §4: hash algorithm numbers in the SIGNATURE_HASH_ALGORITHMS notify. */
export const HashAlgorithm = { SHA1: 1, SHA2_256: 2, SHA2_384: 3, SHA2_512: 4 } as const;

/** DER AlgorithmIdentifiers (RFC 7427 Appendix A), by key type and hash. */
const ALGORITHM_IDS: Record<string, string> = {
  'rsa/sha256': '300d06092a864886f70d01010b0500',
  'rsa/sha384': '300d06092a864886f70d01010c0500',
  'rsa/sha512': '300d06092a864886f70d01010d0500',
  'ec/sha256': '300a06082a8648ce3d040302',
  'ec/sha384': '300a06082a8648ce3d040303',
  'ec/sha512': '300a06082a8648ce3d040304',
};

const HASH_NAMES: Record<number, string> = { [HashAlgorithm.SHA2_256]: 'sha256', [HashAlgorithm.SHA2_384]: 'sha384', [HashAlgorithm.SHA2_512]: 'sha512' };

const keyKind = (key: KeyObject): 'rsa' | 'ec' | undefined => (key.asymmetricKeyType === 'rsa' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : undefined);

/** The AUTH method and data for our key; RFC 7427 when the peer announced SHA-256 (or better). */
export function signAuth(key: KeyObject, octets: Uint8Array, peerHashes: readonly number[]): { method: number; data: Buffer } {
  const kind = keyKind(key);
  const hash = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512].find((h) => peerHashes.includes(h));
  if (hash !== undefined && kind) {
    const name = HASH_NAMES[hash]!;
    const algorithm = Buffer.from(ALGORITHM_IDS[`${kind}/${name}`]!, 'hex');
    const signature = sign(name, octets, kind === 'ec' ? { key, dsaEncoding: 'der' } : key);
    return { method: AuthMethod.DIGITAL_SIGNATURE, data: Buffer.concat([Buffer.of(algorithm.length), algorithm, signature]) };
  }
  if (kind === 'ec') return { method: AuthMethod.ECDSA_256, data: sign('sha256', octets, { key, dsaEncoding: 'ieee-p1363' }) };
  return { method: AuthMethod.RSA_SIG, data: sign('sha1', octets, key) };
}

/** Checks a peer's AUTH against the public key of its (already validated) certificate. */
export function verifyAuth(publicKey: KeyObject, method: number, data: Uint8Array, octets: Uint8Array): boolean {
  const kind = keyKind(publicKey.type === 'public' ? publicKey : createPublicKey(publicKey));
  try {
    if (method === AuthMethod.RSA_SIG) return kind === 'rsa' && verify('sha1', octets, publicKey, data);
    if (method === AuthMethod.ECDSA_256) return kind === 'ec' && verify('sha256', octets, { key: publicKey, dsaEncoding: 'ieee-p1363' }, data);
    if (method !== AuthMethod.DIGITAL_SIGNATURE || data.length < 2) return false;
    const idLength = data[0]!;
    const algorithm = Buffer.from(data.subarray(1, 1 + idLength)).toString('hex');
    const entry = Object.entries(ALGORITHM_IDS).find(([, hex]) => hex === algorithm);
    if (!entry) return false;
    const [keyType, hash] = entry[0].split('/') as [string, string];
    if (keyType !== kind) return false;
    const signature = data.subarray(1 + idLength);
    return verify(hash, octets, kind === 'ec' ? { key: publicKey, dsaEncoding: 'der' } : publicKey, signature);
  } catch {
    return false;
  }
}

/** The SIGNATURE_HASH_ALGORITHMS notify data we send: SHA-256, SHA-384, SHA-512 (2 bytes each). */
export const OUR_HASHES = Uint8Array.of(0, HashAlgorithm.SHA2_256, 0, HashAlgorithm.SHA2_384, 0, HashAlgorithm.SHA2_512);

export function readHashes(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}
