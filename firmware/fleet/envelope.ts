/**
 * The signed envelope of a desired configuration (issue 26; docs/fleet.md has the operator's view).
 * Like JWS, the signed bytes travel as they were signed (base64url), so no canonical JSON is needed:
 *
 *   { "schema": 1, "keyId": "<16 hex>", "payload": "<base64url of UTF-8 JSON>", "signature": "<base64url>" }
 *
 * The signature is Ed25519 (RFC 8032) over `SIGNING_CONTEXT || payload bytes`; the context keeps a
 * desired-configuration signature from ever being valid as anything else signed with the same key.
 * The payload (DesiredPayload) says whom it is for, when, which sequence, and the document or patch.
 * Decoders here never throw: they return why not.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { parseJsonInput } from '../util/json-input.ts';

export const ENVELOPE_SCHEMA = 1;
export const SIGNING_CONTEXT = 'postern-desired/1\n';
export const MAX_ENVELOPE_BYTES = 256 * 1024;
/** Names of revisions, serials and groups: what a topic level can hold and a person can read. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export type Target = { readonly serial: string } | { readonly group: string };

interface PayloadCommon {
  readonly type: 'postern-desired';
  readonly target: Target;
  /** Grows with every desired state the operator publishes (one space across a box's serial and groups). */
  readonly sequence: number;
  /** Epoch milliseconds (ISO 8601 on the wire). */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** The operator's name for this desired state; a patch names the one it applies to. */
  readonly revision: string;
}

export type DesiredPayload =
  | (PayloadCommon & { readonly kind: 'document'; readonly document: Readonly<Record<string, unknown>> })
  | (PayloadCommon & { readonly kind: 'patch'; readonly base: string; readonly patch: Readonly<Record<string, unknown>> });

export interface Envelope {
  readonly keyId: string;
  /** The signed bytes (the payload's JSON). */
  readonly payload: Buffer;
  readonly signature: Buffer;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const B64URL = /^[A-Za-z0-9_-]*$/;

/** The key's id: the first 8 bytes of SHA-256 over its raw 32 bytes, in hex. */
export function keyIdOf(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);
}

export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/** An operator key as the configuration holds it: base64 of the raw 32 bytes, or an SPKI PEM. */
export function parsePublicKey(text: string): Decoded<KeyObject> {
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('-----BEGIN')
      ? createPublicKey(trimmed)
      : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(trimmed, 'base64').toString('base64url') }, format: 'jwk' });
    if (key.asymmetricKeyType !== 'ed25519') return { ok: false, why: 'not an Ed25519 key' };
    if (rawPublicKey(key).length !== 32) return { ok: false, why: 'not 32 bytes' };
    return { ok: true, value: key };
  } catch {
    return { ok: false, why: 'not a public key (base64 of 32 bytes, or a PEM)' };
  }
}

/** The context is what the signed bytes are (a desired configuration, a box's variables): never one taken as the other. */
const signedBytes = (payload: Buffer, context: string) => Buffer.concat([Buffer.from(context), payload]);

export function verifySignature(envelope: Envelope, key: KeyObject, context = SIGNING_CONTEXT): boolean {
  try {
    return verify(null, signedBytes(envelope.payload, context), key, envelope.signature);
  } catch {
    return false;
  }
}

/** The console's side: the envelope's JSON text for a payload, signed with the operator's private key. */
export function signEnvelope(payload: DesiredPayload, privateKey: KeyObject): string {
  return signBytes(Buffer.from(JSON.stringify(payloadToJson(payload))), privateKey, SIGNING_CONTEXT);
}

/** The envelope around any signed payload bytes, under a signing context. */
export function signBytes(bytes: Buffer, privateKey: KeyObject, context: string): string {
  const signature = sign(null, signedBytes(bytes, context), privateKey);
  const keyId = keyIdOf(createPublicKey(privateKey));
  return JSON.stringify({ schema: ENVELOPE_SCHEMA, keyId, payload: bytes.toString('base64url'), signature: signature.toString('base64url') });
}

export function payloadToJson(p: DesiredPayload): Record<string, unknown> {
  const common = { type: p.type, target: p.target, sequence: p.sequence, issuedAt: new Date(p.issuedAt).toISOString(), expiresAt: new Date(p.expiresAt).toISOString(), revision: p.revision };
  return p.kind === 'document' ? { ...common, document: p.document } : { ...common, base: p.base, patch: p.patch };
}

/** The outer envelope; nothing inside the payload is looked at before the signature is checked. */
export function decodeEnvelope(bytes: Uint8Array | string): Decoded<Envelope> {
  if (bytes.length > MAX_ENVELOPE_BYTES) return { ok: false, why: `larger than ${MAX_ENVELOPE_BYTES} bytes` };
  const parsed = parseJsonInput(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'), 4);
  if (!parsed.ok) return { ok: false, why: parsed.reason };
  const v = parsed.value;
  if (!isRecord(v)) return { ok: false, why: 'not an object' };
  if (v['schema'] !== ENVELOPE_SCHEMA) return { ok: false, why: `schema must be ${ENVELOPE_SCHEMA}` };
  const { keyId, payload, signature } = v;
  if (typeof keyId !== 'string' || !/^[0-9a-f]{16}$/.test(keyId)) return { ok: false, why: 'keyId must be 16 hex digits' };
  if (typeof payload !== 'string' || payload.length === 0 || !B64URL.test(payload)) return { ok: false, why: 'payload must be base64url' };
  if (typeof signature !== 'string' || !B64URL.test(signature)) return { ok: false, why: 'signature must be base64url' };
  const sig = Buffer.from(signature, 'base64url');
  if (sig.length !== 64) return { ok: false, why: 'an Ed25519 signature is 64 bytes' };
  const signed = Buffer.from(payload, 'base64url');
  // Only the one encoding of the bytes: a last character with its unused bits set decodes the same,
  // and would make one signed message many different texts (found by the property test).
  if (signed.toString('base64url') !== payload || sig.toString('base64url') !== signature) return { ok: false, why: 'payload and signature must be canonical base64url (no padding, unused bits zero)' };
  return { ok: true, value: { keyId, payload: signed, signature: sig } };
}

/** What every signed payload starts with: its type, target, sequence and validity window. */
export interface SignedHeader {
  readonly fields: Record<string, unknown>;
  readonly target: Target;
  readonly sequence: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** The header checks shared by desired documents and variables (never throws). */
export function decodeSignedHeader(bytes: Buffer, type: string): Decoded<SignedHeader> {
  const parsed = parseJsonInput(bytes.toString('utf8'));
  if (!parsed.ok) return { ok: false, why: parsed.reason };
  const v = parsed.value;
  if (!isRecord(v)) return { ok: false, why: 'not an object' };
  if (v['type'] !== type) return { ok: false, why: `type must be '${type}'` };
  const target = decodeTarget(v['target']);
  if (!target.ok) return target;
  const sequence = v['sequence'];
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) return { ok: false, why: 'sequence must be a whole number from 1' };
  const issuedAt = isoTime(v['issuedAt']);
  const expiresAt = isoTime(v['expiresAt']);
  if (issuedAt === undefined || expiresAt === undefined) return { ok: false, why: 'issuedAt and expiresAt must be ISO 8601 times' };
  return { ok: true, value: { fields: v, target: target.value, sequence, issuedAt, expiresAt } };
}

/** The signed payload, once its signature holds. */
export function decodePayload(bytes: Buffer): Decoded<DesiredPayload> {
  const header = decodeSignedHeader(bytes, 'postern-desired');
  if (!header.ok) return header;
  const { fields: v, target, sequence, issuedAt, expiresAt } = header.value;
  const revision = v['revision'];
  if (typeof revision !== 'string' || !NAME.test(revision)) return { ok: false, why: 'revision must be a name (letters, digits, . _ @ -; 64 at most)' };
  const common = { type: 'postern-desired' as const, target, sequence, issuedAt, expiresAt, revision };
  const hasDocument = Object.hasOwn(v, 'document');
  if (hasDocument === Object.hasOwn(v, 'patch')) return { ok: false, why: 'exactly one of document and patch' };
  if (hasDocument) {
    const document = v['document'];
    return isRecord(document) ? { ok: true, value: { ...common, kind: 'document', document } } : { ok: false, why: 'document must be an object' };
  }
  const { base, patch } = v;
  if (typeof base !== 'string' || !NAME.test(base)) return { ok: false, why: 'a patch names its base revision' };
  return isRecord(patch) ? { ok: true, value: { ...common, kind: 'patch', base, patch } } : { ok: false, why: 'patch must be an object' };
}

export function decodeTarget(t: unknown): Decoded<Target> {
  if (!isRecord(t)) return { ok: false, why: 'target must be {serial} or {group}' };
  const keys = Object.keys(t);
  const key = keys[0];
  if (keys.length !== 1 || (key !== 'serial' && key !== 'group')) return { ok: false, why: 'target must be {serial} or {group}' };
  const name = t[key];
  if (typeof name !== 'string' || !NAME.test(name)) return { ok: false, why: `target ${key} must be a name` };
  return { ok: true, value: key === 'serial' ? { serial: name } : { group: name } };
}

export function isoTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
