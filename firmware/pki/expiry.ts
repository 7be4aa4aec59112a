import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { Logger } from '../log/logger.ts';
import type { GatewayPki } from './pki-store.ts';

/**
 * Expiry of the certificates in use (issue 16): the gateway's, its chain when imported, the CA.
 * Warned 30 days ahead, the window in which Postern renews its own gateway certificate
 * (pki-store.ts), so a warning that stays means something needs a person.
 */
export const EXPIRY_WARNING_DAYS = 30;
const day = 86_400_000;

export type CertificateRole = 'gateway' | 'chain' | 'ca';

export interface CertificateInUse {
  readonly role: CertificateRole;
  readonly subject: string;
  readonly notAfter: Date;
  readonly fingerprintSha256: string;
}

export interface CertificateExpiry {
  readonly role: CertificateRole;
  readonly subject: string;
  readonly notAfter: string;
  /** Whole days left, rounded down; negative once expired. */
  readonly daysLeft: number;
  readonly warning: boolean;
  readonly expired: boolean;
  readonly fingerprintSha256: string;
}

/** Pure: how long each certificate has, and whether that is inside the warning window. */
export function expiryOf(certificates: readonly CertificateInUse[], now: Date): CertificateExpiry[] {
  return certificates.map((c) => {
    const left = c.notAfter.getTime() - now.getTime();
    return {
      role: c.role,
      subject: c.subject,
      notAfter: c.notAfter.toISOString(),
      daysLeft: Math.floor(left / day),
      warning: left <= EXPIRY_WARNING_DAYS * day,
      expired: left <= 0,
      fingerprintSha256: c.fingerprintSha256,
    };
  });
}

const certificatesIn = (pem: string): X509Certificate[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));

/** The gateway certificate (the first in server.pem), the chain after it, and the CA. */
export function certificatesInUse(pki: GatewayPki): CertificateInUse[] {
  const describe = (role: CertificateRole, x: X509Certificate): CertificateInUse => ({
    role,
    subject: x.subject.split('\n').join(', '),
    notAfter: new Date(x.validTo),
    fingerprintSha256: x.fingerprint256,
  });
  const [gateway, ...chain] = certificatesIn(pki.server.certificatePem);
  const ca = certificatesIn(pki.ca.certificatePem)[0];
  const caFingerprint = ca?.fingerprint256;
  return [
    ...(gateway ? [describe('gateway', gateway)] : []),
    // An imported chain may repeat the CA; it is listed once, as the CA.
    ...chain.filter((x) => x.fingerprint256 !== caFingerprint).map((x) => describe('chain', x)),
    ...(ca ? [describe('ca', ca)] : []),
  ];
}

/**
 * Remembers which expiring certificates were announced (`<state>/pki/expiry-announced.json`), so
 * the event fires once per certificate, across restarts, and again for its successor.
 */
export class ExpiryAnnouncements {
  readonly #path: string;
  readonly #log: Logger;

  constructor(stateDir: string, log: Logger) {
    this.#path = join(stateDir, 'pki', 'expiry-announced.json');
    this.#log = log;
  }

  /** The warnings not announced before; they count as announced from now on. */
  takeNew(expiries: readonly CertificateExpiry[]): CertificateExpiry[] {
    const announced = this.#load();
    const fresh = expiries.filter((e) => e.warning && !announced.has(e.fingerprintSha256));
    if (fresh.length === 0) return [];
    // Only certificates still in use are kept, so the file never grows past a handful of entries.
    const inUse = new Set(expiries.map((e) => e.fingerprintSha256));
    const keep = [...announced].filter((f) => inUse.has(f));
    try {
      mkdirSync(dirname(this.#path), { recursive: true, mode: 0o700 });
      writeFileAtomic(this.#path, `${JSON.stringify([...keep, ...fresh.map((e) => e.fingerprintSha256)])}\n`, 0o644);
    } catch (error) {
      this.#log.warn('could not remember the expiry warnings given', { error: error instanceof Error ? error.message : String(error) });
    }
    return fresh;
  }

  #load(): Set<string> {
    try {
      return existsSync(this.#path) ? new Set(JSON.parse(readFileSync(this.#path, 'utf8')) as string[]) : new Set();
    } catch {
      return new Set();
    }
  }
}
