/**
 * Token enrollment's files under `<state>/fleet/` (issue 26), all 0600:
 *   enroll-key.pem   the box's own key (ECDSA P-256), made once; it never leaves the box
 *   enroll-csr.der   the CSR for it, kept so an answer to it is recognised after a restart
 *   device.pem       the certificate the console issued (then `clientCertificate: board-device`)
 *   device-ca.pem    the enrollment CA that signed it
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildCsr } from '../pki/csr.ts';
import { Secret } from '../util/secret.ts';
import type { ClientCertificate } from '../telemetry/mqtt-link.ts';
import { readFleetText, writeFleetFile } from './state-file.ts';
import { TOKEN } from './token-enrollment.ts';

const KEY = 'enroll-key.pem';
const CSR = 'enroll-csr.der';
const CERT = 'device.pem';
const CA = 'device-ca.pem';

export interface EnrollmentKey {
  readonly privateKey: KeyObject;
  readonly csr: Buffer;
}

/** The key and CSR for `serial`, made at first use and the same ever after. */
export function enrollmentKey(stateDir: string, serial: string): EnrollmentKey {
  let pem = readFleetText(stateDir, KEY);
  if (pem === undefined) {
    pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFleetFile(stateDir, KEY, pem, 0o600);
  }
  const privateKey = createPrivateKey(pem);
  const csrText = readFleetText(stateDir, CSR);
  if (csrText !== undefined) return { privateKey, csr: Buffer.from(csrText.trim(), 'base64') };
  const csr = buildCsr(serial, privateKey);
  writeFleetFile(stateDir, CSR, csr.toString('base64'), 0o600);
  return { privateKey, csr };
}

export function writeEnrolled(stateDir: string, certificatePem: string, caPem: string): void {
  writeFleetFile(stateDir, CA, caPem, 0o600);
  writeFleetFile(stateDir, CERT, certificatePem, 0o600);
}

/** The issued certificate with the box's key, once enrolled. */
export function enrolledCertificate(stateDir: string): ClientCertificate | undefined {
  try {
    const cert = readFleetText(stateDir, CERT);
    const key = readFleetText(stateDir, KEY);
    return cert !== undefined && key !== undefined ? { cert, key: new Secret(key) } : undefined;
  } catch {
    return undefined;
  }
}

/** The token the factory wrote, or why it cannot be used (never the token itself in the why). */
export function readToken(path: string): { readonly token: Secret<string> } | { readonly why: string } {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return TOKEN.test(text) ? { token: new Secret(text) } : { why: `${path} does not hold an enrollment token (43 base64url characters)` };
  } catch (error) {
    return { why: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}
