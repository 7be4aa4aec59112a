import { storableIssues } from './load-rules.ts';
import type { ConfigStore } from './store.ts';
import type { ConfigIssue, PosternConfig } from './types.ts';
import { validateConfig } from './validate.ts';

/** Something running that must follow the configuration (the supervisor, in the service). */
export interface ConfigApplier {
  readonly name: string;
  apply(next: PosternConfig, previous: PosternConfig): Promise<void>;
}

export type ApplyResult =
  | { ok: true; revision: number; warnings: ConfigIssue[] }
  | { ok: false; stage: 'validate' | 'apply' | 'commit'; errors: ConfigIssue[]; rolledBack: boolean };

let applying: Promise<unknown> = Promise.resolve();

/**
 * validate → apply to each applier → commit. If an applier throws, every applier already touched
 * (the failed one included) is given the previous configuration again, newest first; if the commit
 * fails, the same. One apply at a time, so two changes never interleave.
 */
export function applyConfig(store: ConfigStore, next: PosternConfig, appliers: readonly ConfigApplier[], meta: { author: string; comment?: string }): Promise<ApplyResult> {
  const run = () => applyNow(store, next, appliers, meta);
  const result = applying.then(run, run);
  applying = result.catch(() => undefined);
  return result;
}

async function applyNow(store: ConfigStore, next: PosternConfig, appliers: readonly ConfigApplier[], meta: { author: string; comment?: string }): Promise<ApplyResult> {
  const validation = validateConfig(next);
  if (!validation.ok) return { ok: false, stage: 'validate', errors: validation.errors, rolledBack: false };
  // The store's own load rules, asked before anything runs it: what would not load unchanged at the
  // next boot is refused here, not half-applied and then refused by the commit (issue 15.3).
  const unloadable = storableIssues(next);
  if (unloadable.length > 0) return { ok: false, stage: 'validate', errors: unloadable, rolledBack: false };
  const { config: previous, revision } = store.current();
  const touched: ConfigApplier[] = [];
  for (const applier of appliers) {
    touched.push(applier);
    try {
      await applier.apply(next, previous);
    } catch (error) {
      const rolledBack = await rollBack(touched, previous, next);
      return { ok: false, stage: 'apply', rolledBack, errors: [{ path: applier.name, code: 'apply', message: messageOf(error) }] };
    }
  }
  try {
    const committed = await store.write(next, { ...meta, expectedRevision: revision });
    return { ok: true, revision: committed.revision, warnings: validation.warnings };
  } catch (error) {
    const rolledBack = await rollBack(touched, previous, next);
    return { ok: false, stage: 'commit', rolledBack, errors: [{ path: '(store)', code: 'commit', message: messageOf(error) }] };
  }
}

/** Re-applies `previous`; true when every applier took it back. */
async function rollBack(touched: readonly ConfigApplier[], previous: PosternConfig, failed: PosternConfig): Promise<boolean> {
  let clean = true;
  for (const applier of [...touched].reverse()) {
    try {
      await applier.apply(previous, failed);
    } catch {
      clean = false;
    }
  }
  return clean;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
