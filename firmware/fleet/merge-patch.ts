/**
 * JSON Merge Patch (RFC 7396 §2): an object patch merges key by key, `null` removes a key, anything
 * else (arrays included) replaces the target whole. Pure; the target is not modified. Objects made
 * here have a null prototype, like `util/json-input.ts`'s, so a "__proto__" key stays an own key that
 * validation refuses.
 */

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out = Object.create(null) as Record<string, unknown>;
  if (isObject(target)) for (const k of Object.keys(target)) define(out, k, target[k]);
  for (const k of Object.keys(patch)) {
    const value = patch[k];
    if (value === null) delete out[k];
    else define(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, value));
  }
  return out;
}

function define(into: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
}
