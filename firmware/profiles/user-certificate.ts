/*
 * A VPN user's client certificate for certificate login (issue 17): issued by the gateway's CA to
 * that user (CN = user name, e-mail subjectAltName = the identity every profile sends), recorded in
 * the issued registry under the user so revocation and the list know whose it is, and handed out
 * only inside a PKCS#12 protected by a password the technician chooses. The key is never kept.
 */
import { describeCertificate } from '../pki/inspect.ts';
import { issueClientCertificate } from '../pki/issue.ts';
import type { IssuedRecord } from '../pki/issued-registry.ts';
import { exportPkcs12 } from '../pki/pkcs12.ts';
import type { GatewayPki } from '../pki/pki-store.ts';
import type { PublicationUrls } from '../pki/publication-urls.ts';
import type { Secret } from '../util/secret.ts';
import type { PosternConfig } from '../config/types.ts';
import { clientIdentity } from './client-identity.ts';
import type { ClientCertificate } from './profile-input.ts';

export interface UserCertificate {
  readonly clientCertificate: ClientCertificate;
  readonly record: IssuedRecord;
}

export function issueUserCertificate(pki: GatewayPki, config: PosternConfig, user: string, password: Secret<string>, now: Date, publication?: PublicationUrls): UserCertificate {
  const identity = clientIdentity(config, user);
  const issued = issueClientCertificate(pki.ca, { commonName: user, email: identity, validityDays: 825, now, ...(publication ? { publication } : {}) });
  const p12 = exportPkcs12({ certificatePem: issued.certificatePem, keyPem: issued.keyPem, caPem: pki.ca.certificatePem, password, friendlyName: `${identity} (Postern)` });
  const record: IssuedRecord = {
    name: user, user, identity, serialHex: issued.serialHex,
    notAfter: describeCertificate(issued.certificatePem).notAfter.toISOString(),
    ...(publication ? { crlUrl: publication.crl } : {}),
  };
  return { clientCertificate: { p12, identity }, record };
}
