/**
 * What differs between two configuration documents, field by field (issue 17: the history's diff
 * and the rollback preview). Pure. Lists of named objects (users, sites, pools, trusted CAs) are
 * matched by name, so removing one user reads "user 'bob' removed", not every later index changed;
 * lists of plain values (networks, DNS servers) are one field. Secrets (the schema's `secret`
 * fields) are named as changed without their values.
 */
import { redactConfig } from './redact.ts';

export interface ConfigChange {
  /** "listeners.sstp.enabled", "users[bob]", "sites[branch].remoteSubnets". */
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  /** JSON of the value before/after (absent for added/removed, "<secret>" for secrets). */
  readonly before?: string;
  readonly after?: string;
}

/** Named items removed and added, per list, for the rollback preview's summary. */
export interface ChangeSummary {
  readonly removed: Readonly<Record<string, string[]>>;
  readonly added: Readonly<Record<string, string[]>>;
  /** Fields changed (named items' inner fields included). */
  readonly changed: number;
}

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNamedList = (v: Json): v is Array<Record<string, Json> & { name: string }> =>
  Array.isArray(v) && v.length > 0 && v.every((i) => isObject(i) && typeof i['name'] === 'string');
const MAX_VALUE = 300;
const show = (v: Json, redacted: Json): string => {
  if (redacted === '<redacted>') return '<secret>';
  const text = JSON.stringify(v) ?? 'undefined';
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
};

/** Every difference from `before` to `after`, in document order. */
export function diffConfigs(before: Json, after: Json): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(before, after, redactConfig(before), redactConfig(after), '', out, 0);
  return out;
}

function walk(a: Json, b: Json, ra: Json, rb: Json, path: string, out: ConfigChange[], depth: number): void {
  if (depth > 64) return; // documents are depth-checked on input; this walk must not be the one that overflows
  if (isObject(a) && isObject(b)) {
    const ro = (r: Json, k: string) => (isObject(r) ? r[k] : undefined);
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) {
      const p = path ? `${path}.${key}` : key;
      if (!Object.hasOwn(b, key)) out.push({ path: p, kind: 'removed', before: show(a[key], ro(ra, key)) });
      else if (!Object.hasOwn(a, key)) out.push({ path: p, kind: 'added', after: show(b[key], ro(rb, key)) });
      else walk(a[key], b[key], ro(ra, key), ro(rb, key), p, out, depth + 1);
    }
    return;
  }
  if ((isNamedList(a) || (Array.isArray(a) && a.length === 0)) && (isNamedList(b) || (Array.isArray(b) && b.length === 0)) && (isNamedList(a) || isNamedList(b))) {
    const named = (list: Json, name: string) => (Array.isArray(list) ? list.find((i) => isObject(i) && i['name'] === name) : undefined);
    const names = [...new Set([...(a as Array<{ name: string }>).map((i) => i.name), ...(b as Array<{ name: string }>).map((i) => i.name)])];
    for (const name of names) {
      const p = `${path}[${name}]`;
      const [x, y] = [named(a, name), named(b, name)];
      if (y === undefined) out.push({ path: p, kind: 'removed' });
      else if (x === undefined) out.push({ path: p, kind: 'added' });
      else walk(x, y, named(ra, name), named(rb, name), p, out, depth + 1);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, kind: 'changed', before: show(a, ra), after: show(b, rb) });
}

/** Named items removed and added per list ("users": ["bob"]), and how many fields changed. */
export function summarize(changes: readonly ConfigChange[]): ChangeSummary {
  const removed: Record<string, string[]> = {};
  const added: Record<string, string[]> = {};
  let changed = 0;
  for (const c of changes) {
    const item = /^(.*)\[([^\]]+)\]$/.exec(c.path);
    if (item && c.kind !== 'changed') (c.kind === 'removed' ? removed : added)[item[1]!] = [...((c.kind === 'removed' ? removed : added)[item[1]!] ?? []), item[2]!];
    else changed++;
  }
  return { removed, added, changed };
}
