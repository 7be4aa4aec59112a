/**
 * Placeholders in a desired document or patch (issue 26): `{{var.NAME}}` in a string value is
 * replaced by the box's variable NAME (variables.ts). A string that is exactly one placeholder
 * takes the variable's own type (a number stays a number); inside longer text the value is written
 * as text. Only string values are looked at, never keys. A placeholder without its variable refuses
 * the whole document, every one listed at its field path (`sites[0].remote.address`), so the
 * console sees what this box lacks. Pure.
 */
import type { ConfigIssue } from '../config/types.ts';
import type { VariableValue, Variables } from './variables.ts';

const PLACEHOLDER = /\{\{\s*var\.([A-Za-z0-9_-]{1,64})\s*\}\}/g;
const WHOLE = /^\{\{\s*var\.([A-Za-z0-9_-]{1,64})\s*\}\}$/;

export type Filled = { readonly ok: true; readonly value: unknown; readonly used: readonly string[] } | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

export function fillTemplate(value: unknown, variables: Variables | undefined): Filled {
  const errors: ConfigIssue[] = [];
  const used = new Set<string>();
  const lookup = (name: string, path: string): VariableValue | undefined => {
    const v = variables !== undefined && Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (v === undefined) errors.push({ path: path || '(document)', code: 'variable-missing', message: variables === undefined ? `{{var.${name}}}: this box has no variables yet` : `{{var.${name}}}: no variable '${name}' for this box` });
    else used.add(name);
    return v;
  };
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole) return lookup(whole[1]!, path) ?? v;
      return v.replace(PLACEHOLDER, (text, name: string) => {
        const found = lookup(name, path);
        return found === undefined ? text : String(found);
      });
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${path}[${i}]`));
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, path ? `${path}.${k}` : k)]));
    }
    return v;
  };
  const filled = walk(value, '');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: filled, used: [...used].sort() };
}
