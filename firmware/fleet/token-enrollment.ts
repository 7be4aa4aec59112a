/**
 * Token enrollment (issue 26): a box with a one-time enrollment token and no certificate exchanges
 * the token for a device certificate. Sans-I/O: messages, proof and the box's checks; the console's
 * decision is token-enrollment-console.ts.
 *
 *   box → console  <prefix>/enroll/<serial>/request      { type: "postern-enroll-request", schema: 1,
 *                                                          serial, csr (base64 DER), time, proof }
 *   console → box  <prefix>/enroll/<serial>/certificate  the operator's signed envelope (envelope.ts)
 *                                                          under ANSWER_CONTEXT; retained when issued
 *
 * proof = HMAC-SHA256(token, PROOF_CONTEXT || serial || "\n" || SHA-256(CSR DER) || time): the token
 * itself never travels to the console over MQTT (only to the broker as the box's password), and a
 * proof binds the token to this serial, this key and this moment. The box takes an answer only when
 * the operator's signature holds, the serial is its own and the certificate carries the key it made.
 * Decoders never throw.
 */
import { createHash, createHmac, X509Certificate, type KeyObject } from 'node:crypto';
import { spkiDer } from '../pki/keys.ts';
import { parseJsonInput } from '../util/json-input.ts';
import { decodeEnvelope, isoTime, NAME, signBytes, verifySignature, type Decoded } from './envelope.ts';
import type { OperatorKey } from './verify-desired.ts';

export const PROOF_CONTEXT = 'postern-enroll-token/1\n';
export const ANSWER_CONTEXT = 'postern-enroll-certificate/1\n';
export const REQUEST_SCHEMA = 1;
/** 32 random bytes, base64url: what `postern fleet enroll-token` prints. */
export const TOKEN = /^[A-Za-z0-9_-]{43}$/;
export const MAX_REQUEST_BYTES = 16 * 1024;
export const MAX_ANSWER_BYTES = 64 * 1024;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface EnrollTopics {
  readonly request: string;
  readonly certificate: string;
}

export const enrollTopics = (prefix: string, serial: string): EnrollTopics => ({
  request: `${prefix}/enroll/${serial}/request`,
  certificate: `${prefix}/enroll/${serial}/certificate`,
});

export interface EnrollRequest {
  readonly serial: string;
  readonly csr: Buffer;
  /** Epoch milliseconds; the ISO text as sent is what the proof covers. */
  readonly time: number;
  readonly timeText: string;
  readonly proof: Buffer;
}

export const csrSha256 = (csr: Buffer): Buffer => createHash('sha256').update(csr).digest();

export function enrollProof(token: string, serial: string, csr: Buffer, timeText: string): Buffer {
  return createHmac('sha256', Buffer.from(token, 'utf8'))
    .update(PROOF_CONTEXT)
    .update(`${serial}\n`)
    .update(csrSha256(csr))
    .update(timeText)
    .digest();
}

/** The box's request text; the token is used for the proof and never written in it. */
export function encodeEnrollRequest(serial: string, csr: Buffer, token: string, now: number): string {
  const time = new Date(now).toISOString();
  const proof = enrollProof(token, serial, csr, time).toString('hex');
  return JSON.stringify({ type: 'postern-enroll-request', schema: REQUEST_SCHEMA, serial, csr: csr.toString('base64'), time, proof });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeEnrollRequest(bytes: Uint8Array | string): Decoded<EnrollRequest> {
  if (bytes.length > MAX_REQUEST_BYTES) return { ok: false, why: `larger than ${MAX_REQUEST_BYTES} bytes` };
  const parsed = parseJsonInput(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'), 3);
  if (!parsed.ok) return { ok: false, why: parsed.reason };
  const v = parsed.value;
  if (!isRecord(v) || v['type'] !== 'postern-enroll-request') return { ok: false, why: "type must be 'postern-enroll-request'" };
  if (v['schema'] !== REQUEST_SCHEMA) return { ok: false, why: `schema must be ${REQUEST_SCHEMA}` };
  const { serial, csr, time, proof } = v;
  if (typeof serial !== 'string' || !NAME.test(serial)) return { ok: false, why: 'serial must be a name' };
  if (typeof csr !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(csr)) return { ok: false, why: 'csr must be base64 DER' };
  const csrBytes = Buffer.from(csr, 'base64');
  if (csrBytes.toString('base64') !== csr) return { ok: false, why: 'csr must be canonical base64' };
  const at = isoTime(time);
  if (at === undefined || typeof time !== 'string') return { ok: false, why: 'time must be an ISO 8601 time' };
  if (typeof proof !== 'string' || !/^[0-9a-f]{64}$/.test(proof)) return { ok: false, why: 'proof must be 64 hex digits' };
  return { ok: true, value: { serial, csr: csrBytes, time: at, timeText: time, proof: Buffer.from(proof, 'hex') } };
}

export type EnrollAnswer =
  | { readonly outcome: 'issued'; readonly serial: string; readonly issuedAt: number; readonly csrSha256: string; readonly certificate: string; readonly ca: string }
  | { readonly outcome: 'refused'; readonly serial: string; readonly issuedAt: number; readonly csrSha256?: string; readonly code: string; readonly reason: string };

/** The console's side: the answer in the operator's envelope, under its own signing context. */
export function signEnrollAnswer(answer: EnrollAnswer, privateKey: KeyObject): string {
  const payload = { type: 'postern-enroll-answer', ...answer, issuedAt: new Date(answer.issuedAt).toISOString() };
  return signBytes(Buffer.from(JSON.stringify(payload)), privateKey, ANSWER_CONTEXT);
}

export interface BoxContext {
  readonly serial: string;
  readonly keys: readonly OperatorKey[];
  /** The key the box made and put in its CSR. */
  readonly publicKey: KeyObject;
  readonly csrSha256: string;
  readonly now: number;
}

export type AnswerVerdict =
  | { readonly kind: 'issued'; readonly certificatePem: string; readonly caPem: string }
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string }
  | { readonly kind: 'reject'; readonly why: string };

/** Is an answer on the box's certificate topic one to take? Signature first, then what it says. */
export function verifyEnrollAnswer(bytes: Uint8Array | string, ctx: BoxContext): AnswerVerdict {
  if (bytes.length > MAX_ANSWER_BYTES) return { kind: 'reject', why: `larger than ${MAX_ANSWER_BYTES} bytes` };
  const envelope = decodeEnvelope(bytes);
  if (!envelope.ok) return { kind: 'reject', why: envelope.why };
  const key = ctx.keys.find((k) => k.id === envelope.value.keyId);
  if (!key) return { kind: 'reject', why: `signed by unknown key ${envelope.value.keyId}` };
  if (!verifySignature(envelope.value, key.key, ANSWER_CONTEXT)) return { kind: 'reject', why: "the operator's signature does not hold" };
  const parsed = parseJsonInput(envelope.value.payload.toString('utf8'), 3);
  const v = parsed.ok ? parsed.value : undefined;
  if (!isRecord(v) || v['type'] !== 'postern-enroll-answer') return { kind: 'reject', why: 'not an enrollment answer' };
  if (v['serial'] !== ctx.serial) return { kind: 'reject', why: 'for another serial' };
  // An answer to an earlier request of this box (another key) is not about this one.
  if (v['csrSha256'] !== ctx.csrSha256) return { kind: 'reject', why: 'for another request' };
  if (v['outcome'] === 'refused') {
    const code = typeof v['code'] === 'string' ? v['code'].slice(0, 64) : 'refused';
    return { kind: 'refused', code, reason: typeof v['reason'] === 'string' ? v['reason'].slice(0, 512) : '' };
  }
  if (v['outcome'] !== 'issued' || typeof v['certificate'] !== 'string' || typeof v['ca'] !== 'string') return { kind: 'reject', why: 'an answer is issued with a certificate and its CA, or refused' };
  const why = certificateProblem(v['certificate'], v['ca'], ctx);
  return why === undefined ? { kind: 'issued', certificatePem: v['certificate'], caPem: v['ca'] } : { kind: 'reject', why };
}

/** The certificate must carry the box's own key and serial, be a client certificate in date, signed by the CA given. */
function certificateProblem(certificatePem: string, caPem: string, ctx: BoxContext): string | undefined {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
    ca = new X509Certificate(caPem);
  } catch {
    return 'the certificate or its CA is not a readable PEM certificate';
  }
  if (!spkiDer(cert.publicKey).equals(spkiDer(ctx.publicKey))) return 'the certificate is not for the key this box made';
  if (!cert.subject.split('\n').includes(`CN=${ctx.serial}`)) return 'the certificate is not for this serial';
  if (!(cert.keyUsage ?? []).includes(CLIENT_AUTH)) return 'not a client certificate (clientAuth)';
  if (Date.parse(cert.validTo) <= ctx.now || Date.parse(cert.validFrom) > ctx.now + 86_400_000) return 'the certificate is not in date';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the certificate is not signed by the CA given';
  return undefined;
}
