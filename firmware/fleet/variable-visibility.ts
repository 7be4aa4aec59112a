/**
 * Which of a box's variables the web UI may show with their value (issue 26). A variable can hold a
 * key, so a value is shown only for a variable the templated document in use puts into fields the
 * schema does not mark secret, and whose name does not look like a secret's; every other one is shown
 * by name only (one nobody uses, one at a secret field, one whose use is unknown). Pure.
 *
 * How: each placeholder is filled with a marker naming its variable, the result redacted as the API
 * redacts a configuration (config/redact.ts): a marker that does not survive was at a secret field.
 */
import { redactConfig } from '../config/redact.ts';
import { fillTemplate } from './template.ts';
import type { VariableValue, Variables } from './variables.ts';

export interface VariableShown {
  readonly name: string;
  /** Absent: shown by name only. */
  readonly value?: VariableValue;
}

const SECRET_NAME = /secret|passw|psk|token|key|hash|credential|private|cert/i;
const MARK = (name: string) => `\u0001var:${name}\u0001`;
const MARKED = /\u0001var:([A-Za-z0-9_-]{1,64})\u0001/g;

/** How many times each variable's marker occurs. */
function markersIn(value: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of JSON.stringify(value ?? null).replace(/\\u0001/g, '\u0001').matchAll(MARKED)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  return counts;
}

/** `template`: the desired document or patch (with its placeholders) the variables fill; undefined when none does. */
export function visibleVariables(variables: Variables | undefined, template: unknown): VariableShown[] {
  if (!variables) return [];
  const names = Object.keys(variables).sort();
  if (template === undefined) return names.map((name) => ({ name }));
  const filled = fillTemplate(template, Object.fromEntries(names.map((n) => [n, MARK(n)])));
  if (!filled.ok) return names.map((name) => ({ name }));
  const before = markersIn(filled.value);
  const after = markersIn(redactConfig(filled.value));
  // Used at least once, and every use survived redaction (one use at a secret field is enough to hide it).
  const open = (name: string) => (before.get(name) ?? 0) > 0 && after.get(name) === before.get(name) && !SECRET_NAME.test(name);
  return names.map((name) => (open(name) ? { name, value: variables[name]! } : { name }));
}
