import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';

/**
 * The client certificates the CA issued (`<state>/pki/issued.json`): what the API lists, what the
 * CRL is made from. Keys are never kept; only what revocation and the list need.
 */
export interface IssuedRecord {
  readonly name: string;
  /** The VPN user it belongs to (issue 17: issued with that user's profile); absent on older ones. */
  readonly user?: string;
  /** The IKE identity it names (its e-mail subjectAltName), which the user's profiles send. */
  readonly identity?: string;
  readonly serialHex: string;
  readonly notAfter: string;
  revokedAt?: string;
  /** The CRL distribution point it carries; absent on certificates issued before issue 16. */
  crlUrl?: string;
  /** Set on a certificate issued again (issue 16): the serial of its successor. */
  reissuedAs?: string;
}

export const issuedRegistryPath = (stateDir: string): string => join(stateDir, 'pki', 'issued.json');

export function loadIssued(stateDir: string): IssuedRecord[] {
  const path = issuedRegistryPath(stateDir);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as IssuedRecord[]) : [];
}

export function saveIssued(stateDir: string, records: readonly IssuedRecord[]): void {
  mkdirSync(join(stateDir, 'pki'), { recursive: true, mode: 0o700 });
  writeFileAtomic(issuedRegistryPath(stateDir), `${JSON.stringify(records, null, 2)}\n`, 0o600);
}

/** Revoked entries as the CRL lists them. */
export const revokedOf = (records: readonly IssuedRecord[]): Array<{ serialHex: string; revokedAt: Date }> =>
  records.flatMap((r) => (r.revokedAt === undefined ? [] : [{ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt) }]));
