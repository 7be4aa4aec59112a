import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Secret } from '../util/secret.ts';
import { children, contentBytes, decodeDer, nullValue, oid, sequence, type Asn1 } from './der.ts';
import { Oid } from './oids.ts';
import { PkiProblem, pkiError } from './pki-error.ts';

/**
 * Keys come from node:crypto (OpenSSL: fast keygen, RSA and ECDSA signing); forge is used only
 * for ASN.1, so the CA can sign with ECDSA P-256 keys although forge itself cannot.
 */
export const KeyTypes = ['rsa-2048', 'rsa-3072', 'ecdsa-p256'] as const;
export type KeyType = (typeof KeyTypes)[number];

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateKeyPair(keyType: KeyType): KeyPair {
  switch (keyType) {
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    case 'rsa-3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 0x10001 });
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    default:
      throw pkiError(PkiProblem.keyType, `unknown key type ${JSON.stringify(keyType as unknown)}; expected one of ${KeyTypes.join(', ')}`);
  }
}

/** PKCS#8 PEM, wrapped so it prints as <redacted>. */
export const privateKeyPem = (key: KeyObject): Secret<string> => new Secret(key.export({ type: 'pkcs8', format: 'pem' }) as string);

/** Loads a PEM private key; the error never carries the key text (no `cause` either). */
export function loadPrivateKey(pem: Secret<string>, what: string): KeyObject {
  try {
    return createPrivateKey(pem.reveal());
  } catch {
    throw pkiError(PkiProblem.privateKey, `${what} private key is not a readable PEM key`);
  }
}

export const spkiDer = (key: KeyObject): Buffer =>
  (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });

/** SubjectPublicKeyInfo as ASN.1, ready to place in a TBSCertificate. */
export const subjectPublicKeyInfo = (publicKey: KeyObject): Asn1 => decodeDer(spkiDer(publicKey));

/**
 * RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents (without the
 * unused-bits octet). Used for both subjectKeyIdentifier and authorityKeyIdentifier.
 */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const subjectPublicKey = contentBytes(children(subjectPublicKeyInfo(publicKey))[1]);
  return createHash('sha1').update(subjectPublicKey.subarray(1)).digest();
}

/**
 * The AlgorithmIdentifier the signer uses: sha256WithRSAEncryption with NULL parameters
 * (RFC 4055 §5) or ecdsa-with-SHA256 with parameters absent (RFC 5758 §3.2).
 */
export function signatureAlgorithm(signer: KeyObject): Asn1 {
  if (signer.asymmetricKeyType === 'rsa') return sequence([oid(Oid.sha256WithRSAEncryption), nullValue()]);
  if (signer.asymmetricKeyType === 'ec' && signer.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return sequence([oid(Oid.ecdsaWithSHA256)]);
  }
  throw pkiError(PkiProblem.keyType, `signing key type ${signer.asymmetricKeyType ?? 'unknown'} is not supported; use RSA or ECDSA P-256`);
}

/** SHA-256 signature: PKCS#1 v1.5 for RSA, DER Ecdsa-Sig-Value for ECDSA (RFC 5480 §2.2 form). */
export const signDer = (tbsDer: Buffer, signer: KeyObject): Buffer => sign('sha256', tbsDer, signer);

export const isEcKey = (key: KeyObject): boolean => key.asymmetricKeyType === 'ec';

/** True when the private key belongs to the public key (same SubjectPublicKeyInfo). */
export const keysMatch = (privateKey: KeyObject, publicKey: KeyObject): boolean => spkiDer(privateKey).equals(spkiDer(publicKey));
