import { ownValue } from '../util/json-input.ts';
import { FORMAT_CHECKS } from './formats.ts';
import { missingInterfaceWarnings, networkOverlapWarnings, type BoxContext } from './network-rules.ts';
import { publicIdentityWarnings } from './public-identity.ts';
import { crossFieldErrors, insecureChoices } from './rules.ts';
import { siteProtocolErrors, unavailableWarnings } from './site-protocol-rules.ts';
import type { Field } from './schema-types.ts';
import { configSchema } from './schema.ts';
import type { ConfigIssue, PosternConfig } from './types.ts';

export type ValidationResult =
  | { ok: true; config: PosternConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/**
 * Checks a whole document and reports every problem, each with its path ("users[2].name") and why.
 * Never throws, whatever it is given. With the box's interfaces (`box`), names it lacks are warned about.
 */
export function validateConfig(doc: unknown, box: BoxContext = {}): ValidationResult {
  const errors: ConfigIssue[] = [];
  checkField(configSchema, doc, '', errors);
  const fieldErrors = errors.length;
  const config = doc as PosternConfig;
  // Cross-field rules read a well-formed document; on a malformed one they run as far as they can,
  // and add nothing where a field of their path was already reported.
  const crossErrors = [...bestEffort(() => crossFieldErrors(config)), ...bestEffort(() => siteProtocolErrors(config))];
  const warnings = [
    ...bestEffort(() => insecureChoices(config)),
    ...bestEffort(() => unavailableWarnings(config)),
    ...bestEffort(() => networkOverlapWarnings(config)),
    ...bestEffort(() => publicIdentityWarnings(config)),
    ...(box.interfaces ? bestEffort(() => missingInterfaceWarnings(config, box.interfaces as readonly string[])) : []),
  ];
  const reported = errors.map((e) => e.path);
  errors.push(...crossErrors.filter((e) => fieldErrors === 0 || !reported.some((p) => p.startsWith(e.path) || e.path.startsWith(p))));
  return errors.length > 0 ? { ok: false, errors, warnings } : { ok: true, config, warnings };
}

function bestEffort(rule: () => ConfigIssue[]): ConfigIssue[] {
  try {
    return rule();
  } catch {
    return [];
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);
const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** One value against its schema table; board profiles (firmware/board/) are checked with it too. */
export function checkField(field: Field, value: unknown, path: string, errors: ConfigIssue[]): void {
  const fail = (code: string, message: string): void => {
    errors.push({ path: path || '(document)', code, message });
  };
  switch (field.kind) {
    case 'string':
      if (value === null && field.nullable) return;
      if (typeof value !== 'string') return fail('type', `must be a string, not ${typeName(value)}`);
      return checkString(field, value, fail);
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail('type', `must be a whole number, not ${typeName(value)}`);
      if (value < field.min || value > field.max) fail('range', `must be from ${field.min} to ${field.max}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail('type', `must be true or false, not ${typeName(value)}`);
      return;
    case 'array':
      return checkArray(field, value, path, errors, fail);
    case 'object':
      return checkObject(field, value, path, errors, fail);
  }
}

function checkString(field: Extract<Field, { kind: 'string' }>, value: string, fail: (code: string, message: string) => void): void {
  if (field.enum && !field.enum.includes(value)) return fail('enum', `must be one of ${field.enum.join(', ')}`);
  if (field.minLength !== undefined && value.length < field.minLength) return fail('length', `must have at least ${field.minLength} characters`);
  if (field.maxLength !== undefined && value.length > field.maxLength) return fail('length', `must have at most ${field.maxLength} characters`);
  if (field.format && !(field.secret && value === '')) {
    const why = FORMAT_CHECKS[field.format](value);
    if (why) fail('format', why);
  }
}

function checkArray(field: Extract<Field, { kind: 'array' }>, value: unknown, path: string, errors: ConfigIssue[], fail: (code: string, message: string) => void): void {
  if (!Array.isArray(value)) return fail('type', `must be a list, not ${typeName(value)}`);
  if (value.length > field.maxItems) return fail('length', `must have at most ${field.maxItems} entries`);
  value.forEach((item, i) => checkField(field.items, item, `${path}[${i}]`, errors));
  if (!field.uniqueNames) return;
  const seen = new Map<unknown, number>();
  value.forEach((item, i) => {
    const name = ownValue(item, 'name');
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else errors.push({ path: `${path}[${i}].name`, code: 'duplicate', message: `'${name}' is already used by ${path}[${first}]` });
  });
}

function checkObject(field: Extract<Field, { kind: 'object' }>, value: unknown, path: string, errors: ConfigIssue[], fail: (code: string, message: string) => void): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail('type', `must be an object, not ${typeName(value)}`);
  // Own properties only, on both sides: `key in` counted inherited names ("__proto__", "toString") as
  // settings, and a value inherited through a replaced prototype is not in the stored JSON (issue 15.6).
  for (const [key, child] of Object.entries(field.fields)) {
    const v = ownValue(value, key);
    if (v === undefined) {
      if (!child.optional) errors.push({ path: join(path, key), code: 'required', message: 'is required' });
      continue;
    }
    checkField(child, v, join(path, key), errors);
  }
  for (const key of Object.keys(value)) {
    if (RESERVED_KEYS.has(key)) errors.push({ path: join(path, key), code: 'reserved', message: 'is a reserved name, never a setting' });
    else if (!Object.hasOwn(field.fields, key)) errors.push({ path: join(path, key), code: 'unknown', message: 'is not a known setting' });
  }
}

/** Names that mean something to JavaScript objects themselves: refused wherever they appear. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
