import type { Secret } from '../util/secret.ts';
import { buildCertificate, randomSerial, validity, type RandomBytes } from './certificate.ts';
import { basicConstraints, keyUsage, subjectKeyIdentifier } from './extensions.ts';
import { generateKeyPair, keyIdentifier, privateKeyPem, type KeyType } from './keys.ts';
import { checkCommonName, nameWithCommonName } from './names.ts';

/** The CA as stored: its certificate, and its key wrapped so it never prints. */
export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
}

export interface CreateCaOptions {
  readonly commonName: string;
  readonly validityDays: number;
  readonly keyType: KeyType;
  readonly now: Date;
  /** For tests that need fixed serials; node:crypto's randomBytes otherwise. */
  readonly randomBytes?: RandomBytes;
}

/** Thirty years; a gateway CA outliving that is a configuration mistake. */
const maxCaDays = 30 * 366;

/**
 * A self-signed root (RFC 5280 §4.2.1.9/§4.2.1.3): basicConstraints cA TRUE, pathLen 0 (it signs
 * end entities only), both critical; keyUsage keyCertSign + cRLSign; SHA-256 signature, which
 * Windows and Apple require of new chains. Issuer and subject are the same Name.
 */
export function createCa(options: CreateCaOptions): CertificateAuthority {
  const commonName = checkCommonName(options.commonName, 'CA');
  const { notBefore, notAfter } = validity(options.now, options.validityDays, maxCaDays);
  const keys = generateKeyPair(options.keyType);
  const name = nameWithCommonName(commonName);
  const certificatePem = buildCertificate(
    {
      serial: randomSerial(options.randomBytes),
      issuer: name,
      subject: name,
      notBefore,
      notAfter,
      subjectPublicKey: keys.publicKey,
      extensions: [basicConstraints(true, 0), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(keyIdentifier(keys.publicKey))],
    },
    keys.privateKey,
  );
  return { certificatePem, keyPem: privateKeyPem(keys.privateKey) };
}
