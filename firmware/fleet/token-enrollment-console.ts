/**
 * The console's side of token enrollment (issue 26), sans-I/O: its token store (one token per
 * serial, with an expiry, spent on first use) and the decision on a box's request. The shell writes
 * the store returned with `issue` to disk (atomically) before it signs and publishes anything, so a
 * token is spent once even if the console stops half-way; a second use is refused as `spent`.
 *
 * Checked in this order, nothing trusted before the proof holds: request shape → topic → a token for
 * the serial → proof (HMAC with that token) → freshness → spent → expired → CSR signature → CN.
 */
import { randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';
import { decodeCsr, type CertificationRequest } from '../pki/csr.ts';
import { parseJsonInput } from '../util/json-input.ts';
import { Secret } from '../util/secret.ts';
import { NAME, type Decoded } from './envelope.ts';
import { csrSha256, decodeEnrollRequest, enrollProof, TOKEN } from './token-enrollment.ts';

export const TOKEN_STORE_SCHEMA = 1;
/** How far the time in a request may be from the console's clock: a captured request goes stale. */
export const REQUEST_SKEW_MS = 10 * 60_000;
export const MAX_TOKEN_DAYS = 365;

export interface TokenEntry {
  readonly token: Secret<string>;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Set on first use; a token is never used twice. */
  readonly spent?: { readonly at: number; readonly csrSha256: string };
}

export interface TokenStore {
  readonly tokens: Readonly<Record<string, TokenEntry>>;
}

export const REFUSAL_CODES = ['malformed', 'wrong-topic', 'unknown-serial', 'bad-proof', 'stale', 'spent', 'expired', 'bad-csr', 'wrong-cn'] as const;
export type EnrollRefusal = (typeof REFUSAL_CODES)[number];

export type EnrollDecision =
  | { readonly kind: 'issue'; readonly serial: string; readonly request: CertificationRequest; readonly csrSha256: string; readonly store: TokenStore }
  | { readonly kind: 'refuse'; readonly code: EnrollRefusal; readonly reason: string; readonly serial: string; readonly csrSha256?: string };

export const newToken = (randomBytes: (n: number) => Buffer = cryptoRandomBytes): string => randomBytes(32).toString('base64url');

/** The store with a (new or replacing) token for `serial`, valid for `days`. */
export function addToken(store: TokenStore, serial: string, token: string, now: number, days: number): TokenStore {
  if (!NAME.test(serial) || serial === 'group' || serial === 'enroll') throw new RangeError('the serial must be a name (letters, digits, . _ @ -)');
  if (!TOKEN.test(token)) throw new RangeError('a token is 43 base64url characters');
  if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) throw new RangeError(`days: 1 to ${MAX_TOKEN_DAYS}`);
  return { tokens: { ...store.tokens, [serial]: { token: new Secret(token), createdAt: now, expiresAt: now + days * 86_400_000 } } };
}

/** Decides on a request received on `topicSerial`'s request topic. */
export function decideEnrollRequest(store: TokenStore, bytes: Uint8Array | string, topicSerial: string, now: number): EnrollDecision {
  const refuse = (code: EnrollRefusal, reason: string, digest?: string): EnrollDecision => ({ kind: 'refuse', code, reason, serial: topicSerial, ...(digest ? { csrSha256: digest } : {}) });
  const decoded = decodeEnrollRequest(bytes);
  if (!decoded.ok) return refuse('malformed', `the request is not readable: ${decoded.why}`);
  const request = decoded.value;
  if (request.serial !== topicSerial) return refuse('wrong-topic', `a request for ${request.serial} on ${topicSerial}'s topic`);
  const digest = csrSha256(request.csr).toString('hex');
  const entry = Object.hasOwn(store.tokens, topicSerial) ? store.tokens[topicSerial] : undefined;
  if (!entry) return refuse('unknown-serial', `no enrollment token for ${topicSerial}`, digest);
  const expected = enrollProof(entry.token.reveal(), request.serial, request.csr, request.timeText);
  if (!timingSafeEqual(expected, request.proof)) return refuse('bad-proof', `the proof does not hold with ${topicSerial}'s token`, digest);
  if (Math.abs(request.time - now) > REQUEST_SKEW_MS) return refuse('stale', `the request's time ${request.timeText} is more than ${REQUEST_SKEW_MS / 60_000} minutes from the console's clock`, digest);
  if (entry.spent) return refuse('spent', `${topicSerial}'s token was already used at ${new Date(entry.spent.at).toISOString()}; a token is used once`, digest);
  if (entry.expiresAt <= now) return refuse('expired', `${topicSerial}'s token expired at ${new Date(entry.expiresAt).toISOString()}`, digest);
  const csr = decodeCsr(request.csr);
  if (!csr.ok) return refuse('bad-csr', `the CSR: ${csr.why}`, digest);
  if (csr.value.commonName !== topicSerial) return refuse('wrong-cn', `the CSR names ${csr.value.commonName.slice(0, 64)}, not ${topicSerial}`, digest);
  const spent: TokenEntry = { ...entry, spent: { at: now, csrSha256: digest } };
  return { kind: 'issue', serial: topicSerial, request: csr.value, csrSha256: digest, store: { tokens: { ...store.tokens, [topicSerial]: spent } } };
}

/** The store's file text (mode 0600: it holds the tokens). */
export function encodeTokenStore(store: TokenStore): string {
  const tokens = Object.fromEntries(
    Object.entries(store.tokens).map(([serial, e]) => [
      serial,
      {
        token: e.token.reveal(),
        createdAt: new Date(e.createdAt).toISOString(),
        expiresAt: new Date(e.expiresAt).toISOString(),
        ...(e.spent ? { spent: { at: new Date(e.spent.at).toISOString(), csrSha256: e.spent.csrSha256 } } : {}),
      },
    ]),
  );
  return `${JSON.stringify({ schema: TOKEN_STORE_SCHEMA, tokens }, null, 2)}\n`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeTokenStore(text: string): Decoded<TokenStore> {
  const parsed = parseJsonInput(text, 5);
  if (!parsed.ok) return { ok: false, why: parsed.reason };
  const v = parsed.value;
  if (!isRecord(v) || v['schema'] !== TOKEN_STORE_SCHEMA || !isRecord(v['tokens'])) return { ok: false, why: `not a token store (schema ${TOKEN_STORE_SCHEMA})` };
  const tokens: Record<string, TokenEntry> = {};
  for (const [serial, e] of Object.entries(v['tokens'])) {
    const entry = decodeEntry(e);
    if (!NAME.test(serial) || !entry) return { ok: false, why: `the entry for ${serial.slice(0, 64)} is not readable` };
    tokens[serial] = entry;
  }
  return { ok: true, value: { tokens } };
}

function decodeEntry(e: unknown): TokenEntry | undefined {
  if (!isRecord(e) || typeof e['token'] !== 'string' || !TOKEN.test(e['token'])) return undefined;
  const createdAt = typeof e['createdAt'] === 'string' ? Date.parse(e['createdAt']) : NaN;
  const expiresAt = typeof e['expiresAt'] === 'string' ? Date.parse(e['expiresAt']) : NaN;
  if (!Number.isFinite(createdAt) || !Number.isFinite(expiresAt)) return undefined;
  const base = { token: new Secret(e['token']), createdAt, expiresAt };
  if (e['spent'] === undefined) return base;
  const s = e['spent'];
  const at = isRecord(s) && typeof s['at'] === 'string' ? Date.parse(s['at']) : NaN;
  if (!isRecord(s) || !Number.isFinite(at) || typeof s['csrSha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(s['csrSha256'])) return undefined;
  return { ...base, spent: { at, csrSha256: s['csrSha256'] } };
}
