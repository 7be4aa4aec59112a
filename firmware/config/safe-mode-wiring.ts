/**
 * Safe mode in the running service (issue 17): real timers, the pending change written beside the
 * store, a revert that goes through the same transactional apply as any change (the administrator's
 * password kept, as a rollback keeps it), and a change left pending by the last run undone at start.
 */
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { migrate } from './migrations.ts';
import { SafeMode, type SafeModeOutcome } from './safe-mode.ts';
import { readPending, writePending } from './safe-mode-file.ts';
import type { ConfigStore } from './store.ts';
import type { ApplyResult } from './transaction.ts';
import type { PosternConfig } from './types.ts';

export interface SafeModeWiring {
  readonly store: ConfigStore;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly apply: (next: PosternConfig, meta: { author: string; comment: string }) => Promise<ApplyResult>;
  readonly onOutcome?: (outcome: SafeModeOutcome) => void;
}

const configDir = (stateDir: string) => join(stateDir, 'config');

/** The revision to go back to, in this format, with the administrator as he is now. */
async function revertTarget(store: ConfigStore, revision: number): Promise<PosternConfig> {
  const old = migrate(structuredClone(await store.get(revision))).doc as PosternConfig;
  return { ...old, admin: store.current().config.admin };
}

export function createSafeMode(w: SafeModeWiring): SafeMode {
  return new SafeMode({
    clock: w.clock,
    setTimer: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      timer.unref();
      return { cancel: () => clearTimeout(timer) };
    },
    persist: (pending) => writePending(configDir(w.stateDir), pending),
    revert: async (change, why) => {
      const result = await w.apply(await revertTarget(w.store, change.previousRevision), { author: 'safe-mode', comment: `safe mode: ${why}; back to revision ${change.previousRevision}` });
      if (!result.ok) throw new Error(`${result.stage}: ${result.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
      return result.revision;
    },
    onOutcome: (outcome) => {
      const fields = { revision: outcome.change.revision, previousRevision: outcome.change.previousRevision, comment: outcome.change.comment };
      if (outcome.kind === 'confirmed') w.logger.info('safe mode: change confirmed', fields);
      else if (outcome.kind === 'reverted') w.logger.warn('safe mode: change not confirmed, configuration reverted', { ...fields, newRevision: outcome.revision });
      else w.logger.error('safe mode: the revert failed', { ...fields, error: outcome.error });
      w.onOutcome?.(outcome);
    },
  });
}

/**
 * Before anything starts: a change still pending from the last run is undone (the technician could
 * not confirm it before the service stopped). Written as a new revision; the subsystems then start on it.
 */
export async function revertLeftPending(store: ConfigStore, stateDir: string, logger: Logger): Promise<void> {
  const { pending, unreadable } = readPending(configDir(stateDir));
  if (unreadable) logger.error('safe mode: the pending change left by the last run is unreadable; the configuration stays as it is', { why: unreadable });
  if (pending) {
    try {
      const { revision } = await store.write(await revertTarget(store, pending.previousRevision), { author: 'safe-mode', comment: `safe mode: the service restarted before the change was confirmed; back to revision ${pending.previousRevision}` });
      logger.warn('safe mode: change not confirmed before the restart, configuration reverted', { revision: pending.revision, previousRevision: pending.previousRevision, newRevision: revision });
    } catch (error) {
      logger.error('safe mode: the revert at start failed; running the configuration as it is', { previousRevision: pending.previousRevision, error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (pending || unreadable) writePending(configDir(stateDir), undefined);
}
