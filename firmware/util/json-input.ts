/**
 * JSON from outside (API bodies, imported documents) made safe to walk: nesting bounded, and every
 * object rebuilt with a null prototype so a key such as "__proto__" or "constructor" is only ever an
 * own property that validation can see and refuse, never a way into Object.prototype (issue 15.6, 15.7).
 */

/** Far more than the configuration schema needs (its deepest field is 5 levels down). */
export const MAX_JSON_DEPTH = 64;

export type JsonInput = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/** Parses and rebuilds `text`; never throws. */
export function parseJsonInput(text: string, maxDepth = MAX_JSON_DEPTH): JsonInput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  return rebuildJson(parsed, maxDepth);
}

/**
 * A copy of a parsed JSON value with null-prototype objects, or why not. Iterative (an explicit
 * stack), so a document nested thousands deep is refused instead of overflowing the call stack.
 */
export function rebuildJson(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonInput {
  const root: { value: unknown } = { value: undefined };
  const work: Array<{ from: unknown; into: Record<string, unknown> | unknown[]; key: string | number; depth: number }> = [
    { from: value, into: root as unknown as Record<string, unknown>, key: 'value', depth: 0 },
  ];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const { from, into, key, depth } = item;
    const set = (v: unknown): void => {
      if (Array.isArray(into)) into[key as number] = v;
      else Object.defineProperty(into, key, { value: v, enumerable: true, writable: true, configurable: true });
    };
    if (from === null || typeof from !== 'object') {
      set(from);
      continue;
    }
    if (depth >= maxDepth) return { ok: false, reason: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(from)) {
      const copy: unknown[] = new Array<unknown>(from.length);
      set(copy);
      from.forEach((v, i) => work.push({ from: v, into: copy, key: i, depth: depth + 1 }));
    } else {
      const copy = Object.create(null) as Record<string, unknown>;
      set(copy);
      // Pushed last first, so keys are defined in their original order (the stack pops in reverse).
      for (const k of Object.keys(from).reverse()) work.push({ from: (from as Record<string, unknown>)[k], into: copy, key: k, depth: depth + 1 });
    }
  }
  return { ok: true, value: root.value };
}

/** The nesting depth of a value (a scalar is 0), counted without recursion; stops past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const work: Array<[unknown, number]> = [[value, 0]];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) work.push([child, depth + 1]);
  }
  return deepest;
}

/** `record[key]` only when it is the record's own: inherited names are never settings. */
export function ownValue(record: unknown, key: string): unknown {
  return record !== null && typeof record === 'object' && Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}
