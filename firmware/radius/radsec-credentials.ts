/**
 * Postern's RadSec client certificate (RFC 6614 §2.3: the client authenticates with a certificate),
 * issued once from Postern's own CA and kept beside it (`<state>/pki/radsec-client.pem` and `.key`),
 * named after the NAS-Identifier so a server's policy can match it. The RADIUS server must trust
 * Postern's CA (its certificate is on the Certificates page) or be given an imported certificate.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { issueClientCertificate } from '../pki/issue.ts';
import { loadOrCreatePki } from '../pki/pki-store.ts';
import { Secret } from '../util/secret.ts';

export function radsecClientCertificate(stateDir: string, config: PosternConfig, log: Logger): { certificate: string; key: Secret<string> } | undefined {
  const dir = join(stateDir, 'pki');
  const paths = { certificate: join(dir, 'radsec-client.pem'), key: join(dir, 'radsec-client.key') };
  try {
    if (existsSync(paths.certificate) && existsSync(paths.key)) return { certificate: readFileSync(paths.certificate, 'utf8'), key: new Secret(readFileSync(paths.key, 'utf8')) };
    const { ca } = loadOrCreatePki(stateDir, config.certificates, log);
    const commonName = config.radius?.nasIdentifier ?? config.system.hostname;
    const issued = issueClientCertificate(ca, { commonName, validityDays: 3650, now: new Date() });
    writeFileAtomic(paths.key, issued.keyPem.reveal(), 0o600);
    writeFileAtomic(paths.certificate, issued.certificatePem, 0o644);
    log.info('RadSec client certificate issued from Postern\'s CA', { commonName });
    return { certificate: issued.certificatePem, key: issued.keyPem };
  } catch (error) {
    log.warn('RadSec client certificate unavailable: connecting without one', { error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}
