/**
 * Token enrollment's files under `<state>/fleet/` (issue 26), all 0600:
 *   enroll-key.pem   the box's own key (ECDSA P-256), made once; it never leaves the box
 *   enroll-csr.der   the CSR for it, kept so an answer to it is recognised after a restart
 *   device.pem       the certificate the console issued (then `clientCertificate: board-device`)
 *   device-ca.pem    the enrollment CA that signed it
 *   renew-key.pem, renew-csr.der      a renewal's new key and CSR (renewal.ts), until its certificate is in use
 *   device-previous.pem, enroll-key-previous.pem   the certificate and key before a renewal's switch,
 *                    until the broker took the new one (else they are put back); both empty when the
 *                    box was on its factory certificate (the board's files, never written): putting
 *                    back then removes the renewed ones, and the factory certificate is used again
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { BoardFleet } from '../board/types.ts';
import { buildCsr } from '../pki/csr.ts';
import { Secret } from '../util/secret.ts';
import type { ClientCertificate } from '../telemetry/mqtt-link.ts';
import { fleetFilePath, readFleetText, removeFleetFile, writeFleetFile } from './state-file.ts';
import { boardCertificate } from './enrollment.ts';
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

/**
 * The certificate for `clientCertificate: board-device`: the one token enrollment or a renewal put in
 * the state directory, else the factory's per-device certificate from the board profile.
 */
export function deviceCertificate(stateDir: string, fleet: BoardFleet | undefined): ClientCertificate | undefined {
  return enrolledCertificate(stateDir) ?? boardCertificate(fleet);
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

const RENEW_KEY = 'renew-key.pem';
const RENEW_CSR = 'renew-csr.der';
const PREVIOUS_CERT = 'device-previous.pem';
const PREVIOUS_KEY = 'enroll-key-previous.pem';

/** A renewal's new key and CSR, made at its first attempt and kept for its retries (an answer after a restart still matches). */
export function renewalKey(stateDir: string, serial: string): EnrollmentKey {
  let pem = readFleetText(stateDir, RENEW_KEY);
  if (pem === undefined) {
    pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFleetFile(stateDir, RENEW_KEY, pem, 0o600);
    removeFleetFile(stateDir, RENEW_CSR);
  }
  const privateKey = createPrivateKey(pem);
  const csrText = readFleetText(stateDir, RENEW_CSR);
  if (csrText !== undefined) return { privateKey, csr: Buffer.from(csrText.trim(), 'base64') };
  const csr = buildCsr(serial, privateKey);
  writeFleetFile(stateDir, RENEW_CSR, csr.toString('base64'), 0o600);
  return { privateKey, csr };
}

/**
 * The renewed certificate in use with the renewal's key; the ones before kept until the broker takes
 * it (empty: the box was on its factory certificate, which stays where the board keeps it).
 */
export function switchToRenewed(stateDir: string, certificatePem: string, caPem: string): void {
  const key = readFleetText(stateDir, RENEW_KEY);
  if (key === undefined) throw new Error('no renewal key');
  writeFleetFile(stateDir, PREVIOUS_CERT, readFleetText(stateDir, CERT) ?? '', 0o600);
  writeFleetFile(stateDir, PREVIOUS_KEY, readFleetText(stateDir, KEY) ?? '', 0o600);
  writeFleetFile(stateDir, KEY, key, 0o600);
  writeEnrolled(stateDir, certificatePem, caPem);
  removeFleetFile(stateDir, RENEW_KEY);
  removeFleetFile(stateDir, RENEW_CSR);
}

/** The broker took the renewed certificate: the old one goes. */
export function dropPrevious(stateDir: string): void {
  removeFleetFile(stateDir, PREVIOUS_CERT);
  removeFleetFile(stateDir, PREVIOUS_KEY);
}

/** The broker did not take it: the certificate and key before it are put back. */
export function revertRenewed(stateDir: string): boolean {
  if (!existsSync(fleetFilePath(stateDir, PREVIOUS_CERT)) || !existsSync(fleetFilePath(stateDir, PREVIOUS_KEY))) return false;
  if (readFleetText(stateDir, PREVIOUS_CERT) === '') {
    // Renewed from the factory certificate: without an enrolled one the board's is used again.
    for (const name of [CERT, CA, KEY, PREVIOUS_CERT, PREVIOUS_KEY]) removeFleetFile(stateDir, name);
    return true;
  }
  renameSync(fleetFilePath(stateDir, PREVIOUS_KEY), fleetFilePath(stateDir, KEY));
  renameSync(fleetFilePath(stateDir, PREVIOUS_CERT), fleetFilePath(stateDir, CERT));
  return true;
}
