import type { Field } from './schema-types.ts';
import { configSchema } from './schema.ts';

/** The document with every field the schema marks `secret` replaced by "<redacted>" (when set). */
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
        out[key] = child ? redactField(child, v) : v;
      }
      return out;
    }
    default:
      return value;
  }
}
