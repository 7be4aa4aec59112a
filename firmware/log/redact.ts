import { isSecret } from '../util/secret.ts';

/** Field names whose values are secrets even when a caller forgot to wrap them in `Secret`. */
const SECRET_KEY = /pass(word|phrase)?|psk|secret|private.?key|^key$|token|nt.?hash|cookie/i;

/** A deep copy fit for a log line: secrets become `<redacted>`, cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (isSecret(value)) return '<redacted>';
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (seen.has(value) || depth > 8) return '<…>';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? '<redacted>' : redact(v, depth + 1, seen);
  }
  return out;
}
