/**
 * A box's variables (issue 26): the per-box values a group's desired document refers to by
 * `{{var.NAME}}` (template.ts). The console publishes them signed, retained, on
 * `<prefix>/<serial>/variables`, in the envelope of desired documents (envelope.ts) under their own
 * signing context, so a variables signature is never a desired configuration's:
 *
 *   { "type": "postern-variables", "target": { "serial": "shop-17" }, "sequence": N,
 *     "issuedAt": "…", "expiresAt": "…", "variables": { "lanAddress": "10.17.0.1/24", "ikePort": 500 } }
 *
 * Names: letters, digits, `_` and `-` (64 at most); values: strings (16 KiB at most: a key or a
 * certificate fits), numbers, booleans; 256 at most. Decoders never throw.
 */
import type { KeyObject } from 'node:crypto';
import { decodeSignedHeader, signBytes, type Decoded } from './envelope.ts';

export const VARIABLES_CONTEXT = 'postern-variables/1\n';
export const VARIABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_VARIABLES = 256;
export const MAX_VALUE_LENGTH = 16 * 1024;

export type VariableValue = string | number | boolean;
export type Variables = Readonly<Record<string, VariableValue>>;

export interface VariablesPayload {
  readonly type: 'postern-variables';
  readonly target: { readonly serial: string };
  readonly sequence: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly variables: Variables;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeVariablesPayload(bytes: Buffer): Decoded<VariablesPayload> {
  const header = decodeSignedHeader(bytes, 'postern-variables');
  if (!header.ok) return header;
  const { fields, target, sequence, issuedAt, expiresAt } = header.value;
  if (!('serial' in target)) return { ok: false, why: 'variables are per box: target must be {serial}' };
  const variables = decodeVariables(fields['variables']);
  if (!variables.ok) return variables;
  return { ok: true, value: { type: 'postern-variables', target: { serial: target.serial }, sequence, issuedAt, expiresAt, variables: variables.value } };
}

export function decodeVariables(v: unknown): Decoded<Variables> {
  if (!isRecord(v)) return { ok: false, why: 'variables must be an object' };
  const entries = Object.entries(v);
  if (entries.length > MAX_VARIABLES) return { ok: false, why: `at most ${MAX_VARIABLES} variables` };
  const out: Record<string, VariableValue> = {};
  for (const [name, value] of entries) {
    if (!VARIABLE_NAME.test(name)) return { ok: false, why: `variable name '${name.slice(0, 64)}': letters, digits, _ and - (64 at most)` };
    const fits = typeof value === 'string' ? value.length <= MAX_VALUE_LENGTH : typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!fits) return { ok: false, why: `variable ${name}: a string (${MAX_VALUE_LENGTH} characters at most), a number or a boolean` };
    out[name] = value as VariableValue;
  }
  return { ok: true, value: out };
}

export function variablesToJson(p: VariablesPayload): Record<string, unknown> {
  return { type: p.type, target: p.target, sequence: p.sequence, issuedAt: new Date(p.issuedAt).toISOString(), expiresAt: new Date(p.expiresAt).toISOString(), variables: p.variables };
}

/** The console's side: the signed envelope's JSON text for a box's variables. */
export function signVariables(p: VariablesPayload, privateKey: KeyObject): string {
  return signBytes(Buffer.from(JSON.stringify(variablesToJson(p))), privateKey, VARIABLES_CONTEXT);
}
