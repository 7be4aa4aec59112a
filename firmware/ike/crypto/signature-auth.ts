import { constants, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { AuthMethod } from '../payloads/auth.ts';
import { encodeAlgorithmIdentifier, parseAlgorithmIdentifier, type SignatureScheme } from './algorithm-identifier.ts';

/**
 * Signatures in AUTH payloads: RSA PKCS#1 v1.5 with SHA-1 (method 1, RFC 7296 §3.8, what older
 * Windows clients use), ECDSA on P-256/384/521 (methods 9–11, RFC 4754: r | s), and RFC 7427
 * digital signatures (method 14: an AlgorithmIdentifier in front): RSA PKCS#1 v1.5, RSASSA-PSS
 * (RFC 4055 parameters), ECDSA with SHA-1/2, and Ed25519 (RFC 8420).
 */

/** RFC 7427 §4 / RFC 8420: hash algorithm numbers in the SIGNATURE_HASH_ALGORITHMS notify. */
export const HashAlgorithm = { SHA1: 1, SHA2_256: 2, SHA2_384: 3, SHA2_512: 4, IDENTITY: 5 } as const;

const HASH_NAMES: Record<number, string> = { [HashAlgorithm.SHA2_256]: 'sha256', [HashAlgorithm.SHA2_384]: 'sha384', [HashAlgorithm.SHA2_512]: 'sha512' };
const HASH_LENGTHS: Record<string, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

type KeyKind = 'rsa' | 'ec' | 'ed25519';
const keyKind = (key: KeyObject): KeyKind | undefined => {
  const t = key.asymmetricKeyType;
  return t === 'rsa' || t === 'rsa-pss' ? 'rsa' : t === 'ec' ? 'ec' : t === 'ed25519' ? 'ed25519' : undefined;
};

/** The hash that goes with a curve (RFC 4754), preferred when the peer accepts it. */
const CURVE_HASH: Record<string, string> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };
const CURVE_METHOD: Record<string, number> = { prime256v1: AuthMethod.ECDSA_256, secp384r1: AuthMethod.ECDSA_384, secp521r1: AuthMethod.ECDSA_521 };

export interface SignOptions {
  /** RSA keys sign with RSASSA-PSS (salt as long as the hash) instead of PKCS#1 v1.5. */
  readonly rsaPss?: boolean;
}

/** The AUTH method and data for our key; RFC 7427 when the peer announced a hash we can use. */
export function signAuth(key: KeyObject, octets: Uint8Array, peerHashes: readonly number[], options: SignOptions = {}): { method: number; data: Buffer } {
  const kind = keyKind(key);
  const scheme = schemeFor(key, kind, peerHashes, options);
  if (scheme) {
    const algorithm = encodeAlgorithmIdentifier(scheme);
    return { method: AuthMethod.DIGITAL_SIGNATURE, data: Buffer.concat([Buffer.of(algorithm.length), algorithm, signWith(scheme, key, octets, 'der')]) };
  }
  if (kind === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'prime256v1';
    return { method: CURVE_METHOD[curve] ?? AuthMethod.ECDSA_256, data: sign(CURVE_HASH[curve] ?? 'sha256', octets, { key, dsaEncoding: 'ieee-p1363' }) };
  }
  return { method: AuthMethod.RSA_SIG, data: sign('sha1', octets, key) };
}

function schemeFor(key: KeyObject, kind: KeyKind | undefined, peerHashes: readonly number[], options: SignOptions): SignatureScheme | undefined {
  if (kind === 'ed25519') return { kind: 'ed25519' }; // RFC 8420 has only method 14 for it
  const hashes = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512].filter((h) => peerHashes.includes(h)).map((h) => HASH_NAMES[h]!);
  if (!hashes.length || !kind) return undefined;
  if (kind === 'ec') {
    const wanted = CURVE_HASH[key.asymmetricKeyDetails?.namedCurve ?? ''];
    return { kind: 'ecdsa', hash: wanted && hashes.includes(wanted) ? wanted : hashes[0]! };
  }
  const hash = hashes[0]!;
  return options.rsaPss ? { kind: 'rsa-pss', hash, saltLength: HASH_LENGTHS[hash]! } : { kind: 'rsa-pkcs1', hash };
}

function signWith(scheme: SignatureScheme, key: KeyObject, octets: Uint8Array, dsaEncoding: 'der' | 'ieee-p1363'): Buffer {
  switch (scheme.kind) {
    case 'ed25519': return sign(null, octets, key);
    case 'ecdsa': return sign(scheme.hash, octets, { key, dsaEncoding });
    case 'rsa-pkcs1': return sign(scheme.hash, octets, key);
    case 'rsa-pss': return sign(scheme.hash, octets, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength });
  }
}

/** A peer's AUTH checked: valid, not valid, or made with an algorithm we do not implement. */
export type AuthVerdict = { readonly ok: true; readonly algorithm: string } | { readonly ok: false; readonly unsupported: boolean; readonly algorithm: string };

const schemeName = (s: SignatureScheme) => (s.kind === 'ed25519' ? 'Ed25519' : s.kind === 'rsa-pss' ? `RSASSA-PSS/${s.hash} salt ${s.saltLength}` : `${s.kind === 'ecdsa' ? 'ECDSA' : 'RSA'}/${s.hash}`);
const KEY_OF_SCHEME: Record<SignatureScheme['kind'], KeyKind> = { 'rsa-pkcs1': 'rsa', 'rsa-pss': 'rsa', ecdsa: 'ec', ed25519: 'ed25519' };

/** Checks a peer's AUTH against the public key of its (already validated) certificate. */
export function verifyAuth(publicKey: KeyObject, method: number, data: Uint8Array, octets: Uint8Array): AuthVerdict {
  const key = publicKey.type === 'public' ? publicKey : createPublicKey(publicKey);
  const kind = keyKind(key);
  let scheme: SignatureScheme;
  let signature: Uint8Array = data;
  if (method === AuthMethod.RSA_SIG) scheme = { kind: 'rsa-pkcs1', hash: 'sha1' };
  else if (method === AuthMethod.ECDSA_256 || method === AuthMethod.ECDSA_384 || method === AuthMethod.ECDSA_521) {
    scheme = { kind: 'ecdsa', hash: method === AuthMethod.ECDSA_256 ? 'sha256' : method === AuthMethod.ECDSA_384 ? 'sha384' : 'sha512' };
    return check(scheme, key, kind, octets, signature, 'ieee-p1363');
  } else if (method === AuthMethod.DIGITAL_SIGNATURE) {
    const idLength = data[0] ?? 0;
    if (data.length < 2 + idLength) return { ok: false, unsupported: false, algorithm: 'a truncated RFC 7427 signature' };
    const parsed = parseAlgorithmIdentifier(data.subarray(1, 1 + idLength));
    if (!parsed.ok) return { ok: false, unsupported: true, algorithm: parsed.name };
    scheme = parsed.scheme;
    signature = data.subarray(1 + idLength);
  } else return { ok: false, unsupported: true, algorithm: `auth method ${method}` };
  return check(scheme, key, kind, octets, signature, 'der');
}

function check(scheme: SignatureScheme, key: KeyObject, kind: KeyKind | undefined, octets: Uint8Array, signature: Uint8Array, dsaEncoding: 'der' | 'ieee-p1363'): AuthVerdict {
  const algorithm = schemeName(scheme);
  if (KEY_OF_SCHEME[scheme.kind] !== kind) return { ok: false, unsupported: false, algorithm: `${algorithm} with a ${kind ?? 'foreign'} key` };
  try {
    const good = scheme.kind === 'ed25519' ? verify(null, octets, key, signature)
      : scheme.kind === 'ecdsa' ? verify(scheme.hash, octets, { key, dsaEncoding }, signature)
      : scheme.kind === 'rsa-pss' ? verify(scheme.hash, octets, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature)
      : verify(scheme.hash, octets, key, signature);
    return good ? { ok: true, algorithm } : { ok: false, unsupported: false, algorithm };
  } catch {
    return { ok: false, unsupported: false, algorithm };
  }
}

/** The SIGNATURE_HASH_ALGORITHMS notify data we send: SHA-256/384/512 and Identity for Ed25519 (RFC 8420). */
export const OUR_HASHES = Uint8Array.of(0, HashAlgorithm.SHA2_256, 0, HashAlgorithm.SHA2_384, 0, HashAlgorithm.SHA2_512, 0, HashAlgorithm.IDENTITY);

export function readHashes(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}
