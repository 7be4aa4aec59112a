import { X509Certificate } from 'node:crypto';
import { children, contentBytes, decodeDer, isContextTag, oidText, type Asn1 } from './der.ts';
import { PkiProblem, pkiError } from './pki-error.ts';

/** The parts of a certificate the CA needs back: the subject Name as encoded, and the extensions. */
export interface CertificateParts {
  readonly x509: X509Certificate;
  readonly subject: Asn1;
  readonly extensions: ReadonlyMap<string, { readonly critical: boolean; readonly value: Buffer }>;
}

/** Parses a PEM certificate (RFC 5280 §4.1 layout, version field optional for v1). */
export function readCertificate(pem: string, what: string): CertificateParts {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch {
    throw pkiError(PkiProblem.certificate, `${what} is not a readable PEM certificate`);
  }
  try {
    const tbs = children(children(decodeDer(x509.raw))[0]);
    const first = isContextTag(tbs[0], 0) ? 1 : 0;
    const subject = tbs[first + 4];
    if (subject === undefined) throw new TypeError('short TBSCertificate');
    return { x509, subject, extensions: readExtensions(tbs.find((node) => isContextTag(node, 3))) };
  } catch {
    throw pkiError(PkiProblem.certificate, `${what} is not a DER-encoded X.509 certificate`);
  }
}

function readExtensions(wrapper: Asn1 | undefined): CertificateParts['extensions'] {
  const map = new Map<string, { critical: boolean; value: Buffer }>();
  if (wrapper === undefined) return map;
  for (const ext of children(children(wrapper)[0])) {
    const fields = children(ext);
    const critical = fields.length === 3 && contentBytes(fields[1])[0] === 0xff;
    map.set(oidText(fields[0]), { critical, value: contentBytes(fields[fields.length - 1]) });
  }
  return map;
}
