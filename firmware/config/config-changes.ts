/**
 * Every setting that differs between two documents, by path ("system.dns.servers[1]",
 * "users[bob]" for a named list's item added or removed): what an import preview shows.
 */
export interface ConfigChange {
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

const MAX_DEPTH = 16;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const named = (v: unknown[]): v is Array<{ name: string }> => v.every((i) => isObject(i) && typeof i['name'] === 'string');

export function configChanges(before: unknown, after: unknown, path = '', depth = 0, out: ConfigChange[] = []): ConfigChange[] {
  if (Object.is(before, after)) return out;
  if (depth < MAX_DEPTH && Array.isArray(before) && Array.isArray(after) && before.length + after.length > 0 && named(before) && named(after)) {
    // Named lists (users, pools, sites) match by name, so one removed item is not "every later one changed".
    const old = new Map(before.map((i) => [i.name, i]));
    const now = new Map(after.map((i) => [i.name, i]));
    for (const [name, item] of old) if (!now.has(name)) out.push({ path: `${path}[${name}]`, kind: 'removed', before: item });
    for (const [name, item] of now) {
      const was = old.get(name);
      if (was === undefined) out.push({ path: `${path}[${name}]`, kind: 'added', after: item });
      else configChanges(was, item, `${path}[${name}]`, depth + 1, out);
    }
    return out;
  }
  if (depth < MAX_DEPTH && isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const at = path ? `${path}.${key}` : key;
      if (!Object.hasOwn(after, key)) out.push({ path: at, kind: 'removed', before: before[key] });
      else if (!Object.hasOwn(before, key)) out.push({ path: at, kind: 'added', after: after[key] });
      else configChanges(before[key], after[key], at, depth + 1, out);
    }
    return out;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ path, kind: 'changed', before, after });
  return out;
}
