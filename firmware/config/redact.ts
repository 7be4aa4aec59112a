import type { Field } from './schema-types.ts';
import { configSchema } from './schema.ts';

/**
 * The document with every field the schema marks `secret` replaced by "<redacted>" (when set). A key
 * the schema does not know (a fragment redacted from the root, a field from a newer build) is not
 * trusted to be harmless: its strings are redacted when its name looks like a secret's.
 */
export function redactConfig(config: unknown): unknown {
  return redactField(configSchema, config);
}

function redactField(field: Field, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  switch (field.kind) {
    case 'string':
      return field.secret && value !== '' ? '<redacted>' : value;
    case 'array':
      return Array.isArray(value) ? value.map((v) => redactField(field.items, v)) : value;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const child = field.fields[key];
        out[key] = child ? redactField(child, v) : redactUnknown(key, v);
      }
      return out;
    }
    default:
      return value;
  }
}

const SECRET_NAME = /secret|passw|psk|token|key|hash|credential|private/i;

function redactUnknown(key: string, value: unknown): unknown {
  if (typeof value === 'string') return SECRET_NAME.test(key) && value !== '' ? '<redacted>' : value;
  if (Array.isArray(value)) return value.map((v) => redactUnknown(key, v));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUnknown(SECRET_NAME.test(key) ? key : k, v)]));
}
