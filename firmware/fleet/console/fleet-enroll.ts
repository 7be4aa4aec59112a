// The console's side of token enrollment (issue 26; docs/fleet.md "Enrollment with a one-time token"),
// for `postern fleet` (fleet-console.ts):
//   enroll-token --serial S [--days N] --dir D   a token for S in D/enroll-tokens.json (0600); prints it
//                                                 and the mosquitto_passwd command for the enrollment listener
//   enroll-serve --key K --dir D --broker URL …   answers boxes' requests with certificates from the
//                                                 enrollment CA kept in D (made at first use), and enrolled
//                                                 boxes' renewal requests (signed with their current certificate,
//                                                 the enrollment CA's or, with --factory-ca F, a factory's)
// The token store is read again for every request (so tokens made while serving count) and written,
// with the token marked spent, before the certificate is signed or published.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { writeFileAtomic } from '../../config/atomic-file.ts';
import { withFileLock } from '../../config/file-lock.ts';
import { addToken, decideEnrollRequest, decodeTokenStore, encodeTokenStore, newToken, type EnrollDecision, type TokenStore } from '../token-enrollment-console.ts';
import { signEnrollAnswer, enrollTopics } from '../token-enrollment.ts';
import { decideRenewRequest, renewTopic, type RenewDecision } from '../renewal.ts';
import { createCa, type CertificateAuthority } from '../../pki/ca.ts';
import { issueClientCertificateForKey } from '../../pki/issue.ts';
import { Secret } from '../../util/secret.ts';

const STORE = 'enroll-tokens.json';

function readStore(dir: string): TokenStore {
  const path = join(dir, STORE);
  if (!existsSync(path)) return { tokens: {} };
  const decoded = decodeTokenStore(readFileSync(path, 'utf8'));
  if (!decoded.ok) throw new Error(`${path}: ${decoded.why}`);
  return decoded.value;
}

const writeStore = (dir: string, store: TokenStore): void => writeFileAtomic(join(dir, STORE), encodeTokenStore(store), 0o600);

/** The store's read-modify-write, one process at a time (enroll-token beside a running enroll-serve). */
const withStore = <T>(dir: string, work: () => T | Promise<T>): Promise<T> => withFileLock(join(dir, `${STORE}.lock`), 10_000, work);

export async function enrollToken(dir: string, serial: string, days: number): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = newToken();
  await withStore(dir, () => {
    writeStore(dir, addToken(readStore(dir), serial, token, Date.now(), days));
    enrollmentCa(dir); // the broker's certificate listener trusts it (cafile) before any box enrolls
  });
  return `${JSON.stringify({ serial, token, days, enrollmentCa: join(dir, 'enroll-ca.pem') })}\n# for the enrollment listener's password_file (then SIGHUP mosquitto):\nmosquitto_passwd -b <password_file> ${serial} ${token}\n`;
}

/** The enrollment CA in the console's directory, made at first use (under the store's lock). */
export function enrollmentCa(dir: string): CertificateAuthority {
  const cert = join(dir, 'enroll-ca.pem');
  const key = join(dir, 'enroll-ca-key.pem');
  if (!existsSync(cert)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ca = createCa({ commonName: 'Postern fleet enrollment CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date() });
    writeFileAtomic(key, ca.keyPem.reveal(), 0o600);
    writeFileAtomic(cert, ca.certificatePem, 0o644);
  }
  return { certificatePem: readFileSync(cert, 'utf8'), keyPem: new Secret(readFileSync(key, 'utf8')) };
}

export interface ServeOptions {
  readonly dir: string;
  readonly prefix: string;
  readonly operatorKey: KeyObject;
  readonly days: number;
  /** Factory CAs whose per-device certificates may be renewed into enrollment CA ones (PEM, one certificate each). */
  readonly factoryCas?: readonly string[];
  readonly log: (line: Record<string, unknown>) => void;
}

/** The signed answer on the box's certificate topic: a certificate (retained), or a refusal (not retained). */
async function publishAnswer(client: MqttClient, o: ServeOptions, ca: CertificateAuthority, serial: string, now: number, decision: EnrollDecision | RenewDecision, logged: Record<string, unknown>): Promise<void> {
  const topic = enrollTopics(o.prefix, serial).certificate;
  if (decision.kind === 'refuse') {
    o.log({ serial, ...logged, outcome: 'refused', code: decision.code, reason: decision.reason });
    const answer = signEnrollAnswer({ outcome: 'refused', serial, issuedAt: now, code: decision.code, reason: decision.reason, ...(decision.csrSha256 ? { csrSha256: decision.csrSha256 } : {}) }, o.operatorKey);
    // Not retained: a refusal never replaces a certificate already given.
    await client.publishAsync(topic, answer, { qos: 1, retain: false });
    return;
  }
  const cert = issueClientCertificateForKey(ca, { commonName: serial, validityDays: o.days, now: new Date(now), publicKey: decision.request.publicKey });
  const answer = signEnrollAnswer({ outcome: 'issued', serial, issuedAt: now, csrSha256: decision.csrSha256, certificate: cert.certificatePem, ca: ca.certificatePem }, o.operatorKey);
  await client.publishAsync(topic, answer, { qos: 1, retain: true });
  o.log({ serial, ...logged, outcome: 'issued', certificateSerial: cert.serialHex });
}

/** One request, decided and answered; the store is written before anything is signed. */
export async function answerRequest(client: MqttClient, o: ServeOptions, ca: CertificateAuthority, serial: string, payload: Buffer): Promise<void> {
  const topics = enrollTopics(o.prefix, serial);
  const now = Date.now();
  const decision = await withStore(o.dir, () => {
    const d = decideEnrollRequest(readStore(o.dir), payload, serial, now);
    if (d.kind === 'issue') writeStore(o.dir, d.store); // spent first: a crash now loses a certificate, never reuses a token
    return d;
  });
  await publishAnswer(client, o, ca, serial, now, decision, {});
  // The retained request is answered: cleared, so the next console start does not see it again.
  await client.publishAsync(topics.request, '', { qos: 1, retain: true });
}

/** A renewal request (renewal.ts): no token; the box's current certificate from this CA (or a factory CA given) is its proof. */
export async function answerRenewal(client: MqttClient, o: ServeOptions, ca: CertificateAuthority, serial: string, payload: Buffer): Promise<void> {
  const now = Date.now();
  const decision = decideRenewRequest(payload, serial, ca.certificatePem, now, o.factoryCas);
  await publishAnswer(client, o, ca, serial, now, decision, { renewal: true });
  await client.publishAsync(renewTopic(o.prefix, serial), '', { qos: 1, retain: true });
}

/** Serves until the process ends; requests one at a time, so a token is decided once. */
export async function enrollServe(client: MqttClient, o: ServeOptions): Promise<void> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const ca = await withStore(o.dir, () => enrollmentCa(o.dir));
  let work = Promise.resolve();
  const pattern = new RegExp(`^${o.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/enroll/([^/]+)/(request|renew)$`);
  client.on('message', (topic, payload) => {
    const [, serial, kind] = pattern.exec(topic) ?? [];
    if (serial === undefined || payload.length === 0) return;
    const answer = kind === 'renew' ? answerRenewal : answerRequest;
    work = work.then(() => answer(client, o, ca, serial, payload)).catch((error: unknown) => o.log({ serial, outcome: 'error', error: error instanceof Error ? error.message : String(error) }));
  });
  await client.subscribeAsync([`${o.prefix}/enroll/+/request`, `${o.prefix}/enroll/+/renew`], { qos: 1 });
  o.log({ serving: [`${o.prefix}/enroll/+/request`, `${o.prefix}/enroll/+/renew`] });
}

export const loadOperatorKey = (path: string): KeyObject => createPrivateKey(readFileSync(path, 'utf8'));

/** Every certificate in the PEM files given (a factory may have more than one CA). */
export function loadCaFiles(paths: readonly string[]): string[] {
  const pems = paths.flatMap((path) => readFileSync(path, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []);
  if (paths.length > 0 && pems.length === 0) throw new Error(`no certificate in ${paths.join(', ')}`);
  return pems.map((pem) => `${pem}\n`);
}
