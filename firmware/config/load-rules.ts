import { CURRENT_VERSION, migrate } from './migrations.ts';
import type { ConfigIssue, PosternConfig } from './types.ts';
import { validateConfig } from './validate.ts';

/**
 * The rules by which the store reads a document back, and the one check that a document about to be
 * committed will read back unchanged. The store's loader and its write path both use these, and
 * applyConfig asks before touching anything: a revision acknowledged is a revision that loads at the
 * next boot (issue 15.3: `"version": 999` passed the schema, was committed, then refused at start).
 */

export type Loaded =
  | { readonly ok: true; readonly config: PosternConfig; readonly migratedFrom?: number }
  | { readonly ok: false; readonly why: string; readonly errors: readonly ConfigIssue[] };

/** A stored document as the store loads it: moved to this firmware's format, then validated. */
export function loadDocument(doc: unknown): Loaded {
  let migrated: { doc: unknown; from: number; to: number };
  try {
    migrated = migrate(doc);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, why: message, errors: [{ path: 'version', code: 'version', message }] };
  }
  const result = validateConfig(migrated.doc);
  if (!result.ok) return { ok: false, why: `invalid: ${result.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors: result.errors };
  return migrated.from === migrated.to ? { ok: true, config: result.config } : { ok: true, config: result.config, migratedFrom: migrated.from };
}

/**
 * Why `config`, written now, would not load as itself: it goes to disk as JSON and comes back
 * through loadDocument, so it must be valid as given, survive JSON, need no migration (a migration at load rewrites it
 * as a new revision) and be valid. Empty when it will load unchanged.
 */
export function storableIssues(config: PosternConfig): ConfigIssue[] {
  // The document as given first (what the running system will use), then as it will come back.
  const given = validateConfig(config);
  if (!given.ok) return given.errors;
  let back: unknown;
  try {
    back = JSON.parse(JSON.stringify(config)) as unknown;
  } catch (error) {
    return [{ path: '(document)', code: 'json', message: `cannot be stored as JSON: ${error instanceof Error ? error.message : String(error)}` }];
  }
  const loaded = loadDocument(back);
  if (!loaded.ok) return [...loaded.errors];
  if (loaded.migratedFrom !== undefined) {
    return [{ path: 'version', code: 'version', message: `must be ${CURRENT_VERSION}, the format this firmware writes (older documents are migrated when imported)` }];
  }
  return [];
}
