/**
 * Is a desired configuration from the broker one to apply? Sans-I/O: the envelope's bytes, the
 * box's identity, its operator keys, the time and the last accepted sequence in; a verdict out.
 * Checked in this order, so nothing an attacker wrote is interpreted before the signature holds:
 * envelope → known key → signature → payload → target → freshness → sequence.
 */
import type { KeyObject } from 'node:crypto';
import { decodeEnvelope, decodePayload, sha256Hex, SIGNING_CONTEXT, verifySignature, type Decoded, type DesiredPayload, type Target } from './envelope.ts';
import { decodeVariablesPayload, VARIABLES_CONTEXT, type VariablesPayload } from './variables.ts';

export interface OperatorKey {
  readonly id: string;
  readonly key: KeyObject;
}

/** What the box remembers of the last desired state it accepted (the ledger on disk). */
export interface LastAccepted {
  readonly sequence: number;
  /** SHA-256 of its payload bytes: the same retained message delivered again is not a replay attack. */
  readonly payloadSha256: string;
  /** Payload digests of the last few accepted (newest last): an old one sent again is named a replay. */
  readonly recent: readonly string[];
}

export interface VerifyContext {
  readonly serial: string;
  readonly groups: readonly string[];
  readonly keys: readonly OperatorKey[];
  /** Epoch milliseconds. */
  readonly now: number;
  readonly last: LastAccepted | undefined;
  /** How far the console's clock may run ahead of the box's. */
  readonly maxSkewMs?: number;
  /** The longest validity a document may claim (a retained one lives that long at most). */
  readonly maxLifetimeMs?: number;
  /**
   * Delivered as the broker's retained message on subscribing: older desired state the box moved
   * past (a group's document after a newer one for the box) is then no news, not an attack.
   * Published live, the same message is a replay or rollback and is refused.
   */
  readonly retained?: boolean;
}

export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;
export const DEFAULT_MAX_LIFETIME_MS = 31 * 24 * 3600_000;

export const REFUSALS = ['malformed', 'unknown-key', 'bad-signature', 'bad-payload', 'wrong-target', 'not-yet-valid', 'stale', 'replay', 'rollback'] as const;
export type Refusal = (typeof REFUSALS)[number];

export type Verdict<P = DesiredPayload> =
  | { readonly kind: 'accept'; readonly payload: P; readonly payloadSha256: string; readonly keyId: string }
  /** The state already accepted delivered again, or (retained) older state superseded: nothing to do. */
  | { readonly kind: 'ignore'; readonly sequence: number; readonly why: 'already-accepted' | 'superseded' }
  | { readonly kind: 'refuse'; readonly code: Refusal; readonly why: string; readonly sequence?: number; readonly revision?: string };

/** What every signed payload carries for these checks. */
interface SignedCommon {
  readonly target: Target;
  readonly sequence: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revision?: string;
}

export function verifyDesired(bytes: Uint8Array | string, ctx: VerifyContext): Verdict {
  return verifySigned(bytes, ctx, decodePayload, SIGNING_CONTEXT);
}

/** A box's variables (variables.ts): the same checks, their own signing context and sequence. */
export function verifyVariables(bytes: Uint8Array | string, ctx: VerifyContext): Verdict<VariablesPayload> {
  return verifySigned(bytes, ctx, decodeVariablesPayload, VARIABLES_CONTEXT);
}

function verifySigned<P extends SignedCommon>(bytes: Uint8Array | string, ctx: VerifyContext, decode: (b: Buffer) => Decoded<P>, context: string): Verdict<P> {
  const envelope = decodeEnvelope(bytes);
  if (!envelope.ok) return { kind: 'refuse', code: 'malformed', why: envelope.why };
  const { keyId, payload: payloadBytes } = envelope.value;
  const key = ctx.keys.find((k) => k.id === keyId);
  if (!key) return { kind: 'refuse', code: 'unknown-key', why: `no operator key ${keyId} on this box` };
  if (!verifySignature(envelope.value, key.key, context)) return { kind: 'refuse', code: 'bad-signature', why: `the signature does not verify with key ${keyId}` };
  const decoded = decode(payloadBytes);
  if (!decoded.ok) return { kind: 'refuse', code: 'bad-payload', why: decoded.why };
  const p = decoded.value;
  const about = { sequence: p.sequence, ...(p.revision !== undefined ? { revision: p.revision } : {}) };
  const target = 'serial' in p.target ? p.target.serial === ctx.serial : ctx.groups.includes(p.target.group);
  if (!target) return { kind: 'refuse', code: 'wrong-target', why: `for ${'serial' in p.target ? `serial ${p.target.serial}` : `group ${p.target.group}`}, not this box`, ...about };
  const skew = ctx.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (p.issuedAt > ctx.now + skew) return { kind: 'refuse', code: 'not-yet-valid', why: `issued ${new Date(p.issuedAt).toISOString()}, ahead of this box's clock`, ...about };
  if (p.expiresAt <= ctx.now) return { kind: 'refuse', code: 'stale', why: `expired ${new Date(p.expiresAt).toISOString()}`, ...about };
  if (p.expiresAt - p.issuedAt > (ctx.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS)) return { kind: 'refuse', code: 'stale', why: 'valid for longer than a box accepts', ...about };
  const digest = sha256Hex(payloadBytes);
  const last = ctx.last;
  if (last && p.sequence === last.sequence) {
    return digest === last.payloadSha256 ? { kind: 'ignore', sequence: p.sequence, why: 'already-accepted' } : { kind: 'refuse', code: 'replay', why: `sequence ${p.sequence} was already used`, ...about };
  }
  if (last && p.sequence < last.sequence) {
    if (ctx.retained) return { kind: 'ignore', sequence: p.sequence, why: 'superseded' };
    return last.recent.includes(digest)
      ? { kind: 'refuse', code: 'replay', why: `sequence ${p.sequence} was applied before; ${last.sequence} is newer`, ...about }
      : { kind: 'refuse', code: 'rollback', why: `sequence ${p.sequence} is older than the accepted ${last.sequence}`, ...about };
  }
  return { kind: 'accept', payload: p, payloadSha256: digest, keyId };
}
