import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { IkeConnection } from '../../firmware/ike/engine/types.ts';
import { createCa, type CertificateAuthority } from '../../firmware/pki/ca.ts';
import { issueServerCertificate, type IssuedCertificate } from '../../firmware/pki/issue.ts';
import type { KeyType } from '../../firmware/pki/keys.ts';
import { Secret } from '../../firmware/util/secret.ts';

/** Certificates from Postern's own CA, as the IKE engine takes them. */
export function testCa(name = 'Postern Test CA', keyType: KeyType = 'rsa-2048'): CertificateAuthority {
  return createCa({ commonName: name, validityDays: 365, keyType, now: new Date() });
}

export const der = (pem: string) => new X509Certificate(pem).raw;

export function identity(ca: CertificateAuthority, commonName: string, sans: string[], keyType: KeyType = 'rsa-2048'): { issued: IssuedCertificate; auth: Pick<IkeConnection, 'localAuth' | 'certificate'> } {
  const issued = issueServerCertificate(ca, { commonName, sans, validityDays: 90, now: new Date(), keyType });
  return { issued, auth: { localAuth: 'certificate', certificate: { der: der(issued.certificatePem), key: new Secret(createPrivateKey(issued.keyPem.reveal())) } } };
}
