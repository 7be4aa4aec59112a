import type { KeyObject } from 'node:crypto';
import { contentBytes, decodeDer, type Asn1 } from './der.ts';
import type { CertificateAuthority } from './ca.ts';
import { keyIdentifier, keysMatch, loadPrivateKey } from './keys.ts';
import { Oid } from './oids.ts';
import { PkiProblem, pkiError } from './pki-error.ts';
import { readCertificate } from './x509-read.ts';

/** What signing on behalf of a CA needs: its key, its Name as encoded, its key identifier. */
export interface Issuer {
  readonly key: KeyObject;
  readonly name: Asn1;
  readonly keyId: Buffer;
  readonly notAfter: Date;
}

/**
 * Checks the CA before it signs anything: it must be a CA certificate and the key must be its
 * key, or every certificate and CRL it signed would fail verification later, far from the cause.
 */
export function loadIssuer(ca: CertificateAuthority): Issuer {
  const cert = readCertificate(ca.certificatePem, 'CA certificate');
  if (!cert.x509.ca) throw pkiError(PkiProblem.notCa, `certificate ${cert.x509.subject} is not a CA (basicConstraints cA is not TRUE)`);
  const key = loadPrivateKey(ca.keyPem, 'CA');
  if (!keysMatch(key, cert.x509.publicKey)) throw pkiError(PkiProblem.caKeyMismatch, 'the CA private key does not belong to the CA certificate');
  // RFC 5280 §4.2.1.1: the AKI of what we sign repeats the CA's own SKI, whichever method made it.
  const ski = cert.extensions.get(Oid.subjectKeyIdentifier);
  const keyId = ski ? contentBytes(decodeDer(ski.value)) : keyIdentifier(cert.x509.publicKey);
  return { key, name: cert.subject, keyId, notAfter: new Date(cert.x509.validTo) };
}
