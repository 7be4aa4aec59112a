/**
 * Renewal of an enrolled device certificate (issue 26), sans-I/O: the box's request, the console's
 * decision, and when to ask. A box enrolled with a token asks for a new certificate before its
 * current one expires, over its authenticated connection, proving itself with the certificate it
 * holds (never a token):
 *
 *   box → console  <prefix>/enroll/<serial>/renew        { type: "postern-renew-request", schema: 1,
 *                                                          serial, csr (base64 DER, a new key),
 *                                                          certificate (base64 DER, the current one),
 *                                                          time, signature (base64) }
 *   console → box  <prefix>/enroll/<serial>/certificate  the signed answer of token enrollment
 *                                                          (token-enrollment.ts), for the new CSR
 *
 * signature = the current certificate's key over RENEW_CONTEXT || serial || "\n" || SHA-256(CSR DER)
 * || time (SHA-256 with ECDSA or RSA PKCS#1 v1.5): it binds the holder of the certificate to this new
 * key and this moment. The console issues only for a certificate its enrollment CA signed (or a
 * factory CA the operator gave it: a factory-issued box takes its first operator certificate this
 * way), still in date, whose CN is the topic's serial. Decoders never throw.
 */
import { sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeCsr, type CertificationRequest } from '../pki/csr.ts';
import { parseJsonInput } from '../util/json-input.ts';
import { isoTime, NAME, type Decoded } from './envelope.ts';
import { REQUEST_SKEW_MS } from './token-enrollment-console.ts';
import { csrSha256 } from './token-enrollment.ts';

export const RENEW_CONTEXT = 'postern-renew-request/1\n';
export const RENEW_SCHEMA = 1;
export const MAX_RENEW_BYTES = 16 * 1024;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export const renewTopic = (prefix: string, serial: string): string => `${prefix}/enroll/${serial}/renew`;

export interface RenewRequest {
  readonly serial: string;
  readonly csr: Buffer;
  readonly certificate: Buffer;
  readonly time: number;
  readonly timeText: string;
  readonly signature: Buffer;
}

const signedBytes = (serial: string, csr: Buffer, timeText: string): Buffer => Buffer.concat([Buffer.from(`${RENEW_CONTEXT}${serial}\n`), csrSha256(csr), Buffer.from(timeText)]);

/** The box's request: a CSR for its new key, signed with the key of the certificate it holds. */
export function encodeRenewRequest(serial: string, csr: Buffer, certificatePem: string, currentKey: KeyObject, now: number): string {
  const time = new Date(now).toISOString();
  const signature = sign('sha256', signedBytes(serial, csr, time), currentKey).toString('base64');
  const certificate = new X509Certificate(certificatePem).raw.toString('base64');
  return JSON.stringify({ type: 'postern-renew-request', schema: RENEW_SCHEMA, serial, csr: csr.toString('base64'), certificate, time, signature });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const base64Field = (v: unknown): Buffer | undefined => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return undefined;
  const bytes = Buffer.from(v, 'base64');
  return bytes.toString('base64') === v ? bytes : undefined; // one text per value
};

export function decodeRenewRequest(bytes: Uint8Array | string): Decoded<RenewRequest> {
  if (bytes.length > MAX_RENEW_BYTES) return { ok: false, why: `larger than ${MAX_RENEW_BYTES} bytes` };
  const parsed = parseJsonInput(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'), 3);
  if (!parsed.ok) return { ok: false, why: parsed.reason };
  const v = parsed.value;
  if (!isRecord(v) || v['type'] !== 'postern-renew-request') return { ok: false, why: "type must be 'postern-renew-request'" };
  if (v['schema'] !== RENEW_SCHEMA) return { ok: false, why: `schema must be ${RENEW_SCHEMA}` };
  const { serial, time } = v;
  if (typeof serial !== 'string' || !NAME.test(serial)) return { ok: false, why: 'serial must be a name' };
  const csr = base64Field(v['csr']);
  if (!csr) return { ok: false, why: 'csr must be canonical base64 DER' };
  const certificate = base64Field(v['certificate']);
  if (!certificate) return { ok: false, why: 'certificate must be canonical base64 DER' };
  const at = isoTime(time);
  if (at === undefined || typeof time !== 'string') return { ok: false, why: 'time must be an ISO 8601 time' };
  const signature = base64Field(v['signature']);
  if (!signature || signature.length > 1024) return { ok: false, why: 'signature must be canonical base64 (1 KiB at most)' };
  return { ok: true, value: { serial, csr, certificate, time: at, timeText: time, signature } };
}

export const RENEW_REFUSALS = ['malformed', 'wrong-topic', 'bad-certificate', 'expired', 'bad-signature', 'stale', 'bad-csr', 'wrong-cn'] as const;
export type RenewRefusal = (typeof RENEW_REFUSALS)[number];

export type RenewDecision =
  | { readonly kind: 'issue'; readonly serial: string; readonly request: CertificationRequest; readonly csrSha256: string }
  | { readonly kind: 'refuse'; readonly code: RenewRefusal; readonly reason: string; readonly serial: string; readonly csrSha256?: string };

/**
 * The console's decision on a request received on `topicSerial`'s renew topic, against its
 * enrollment CA and the factory CAs it was given (`factoryCaPems`: a factory's per-device
 * certificate is renewed into one from the enrollment CA). Order: shape → topic → the certificate
 * (one of these CAs', this serial, a client certificate, in date) → the signature with its key →
 * freshness → the new CSR and its CN.
 */
export function decideRenewRequest(bytes: Uint8Array | string, topicSerial: string, caPem: string, now: number, factoryCaPems: readonly string[] = []): RenewDecision {
  const refuse = (code: RenewRefusal, reason: string, digest?: string): RenewDecision => ({ kind: 'refuse', code, reason, serial: topicSerial, ...(digest ? { csrSha256: digest } : {}) });
  const decoded = decodeRenewRequest(bytes);
  if (!decoded.ok) return refuse('malformed', `the renewal request is not readable: ${decoded.why}`);
  const r = decoded.value;
  if (r.serial !== topicSerial) return refuse('wrong-topic', `a request for ${r.serial} on ${topicSerial}'s topic`);
  const digest = csrSha256(r.csr).toString('hex');
  let cert: X509Certificate;
  let cas: X509Certificate[];
  try {
    cert = new X509Certificate(r.certificate);
    cas = [caPem, ...factoryCaPems].map((pem) => new X509Certificate(pem));
  } catch {
    return refuse('bad-certificate', 'the current certificate is not a readable certificate', digest);
  }
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return refuse('bad-certificate', `the current certificate is not from the enrollment CA${factoryCaPems.length ? ' or a factory CA' : ''}`, digest);
  if (!cert.subject.split('\n').includes(`CN=${topicSerial}`)) return refuse('bad-certificate', `the current certificate is not ${topicSerial}'s`, digest);
  if (!(cert.keyUsage ?? []).includes(CLIENT_AUTH)) return refuse('bad-certificate', 'the current certificate is not a client certificate', digest);
  if (Date.parse(cert.validTo) <= now) return refuse('expired', `the current certificate expired at ${new Date(Date.parse(cert.validTo)).toISOString()}: enroll again with a token`, digest);
  let holds = false;
  try {
    holds = verify('sha256', signedBytes(r.serial, r.csr, r.timeText), cert.publicKey, r.signature);
  } catch {
    holds = false;
  }
  if (!holds) return refuse('bad-signature', 'the request is not signed with the current certificate\'s key', digest);
  if (Math.abs(r.time - now) > REQUEST_SKEW_MS) return refuse('stale', `the request's time ${r.timeText} is more than ${REQUEST_SKEW_MS / 60_000} minutes from the console's clock`, digest);
  const csr = decodeCsr(r.csr);
  if (!csr.ok) return refuse('bad-csr', `the CSR: ${csr.why}`, digest);
  if (csr.value.commonName !== topicSerial) return refuse('wrong-cn', `the CSR names ${csr.value.commonName.slice(0, 64)}, not ${topicSerial}`, digest);
  return { kind: 'issue', serial: topicSerial, request: csr.value, csrSha256: digest };
}

/** When a certificate valid from `notBefore` to `notAfter` is due for renewal: at 2/3 of its life. */
export const renewalDueAt = (notBefore: number, notAfter: number): number => notBefore + Math.floor(((notAfter - notBefore) * 2) / 3);

export const RETRY_FIRST_MS = 60_000;
export const RETRY_MAX_MS = 6 * 3_600_000;

/**
 * The next attempt after `failures` refused or unanswered ones: 1 min doubling to 6 h, never later
 * than halfway to the expiry (a box keeps asking more often as the end nears), never sooner than 1 min.
 */
export function nextRenewalAttempt(failures: number, now: number, notAfter: number): number {
  const backoff = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  const halfway = Math.floor((notAfter - now) / 2);
  return now + Math.max(RETRY_FIRST_MS, Math.min(backoff, halfway));
}
