import { join, resolve } from 'node:path';
import type { BoardProfile } from '../board/types.ts';
import { readFileSync } from 'node:fs';
import { ConfigStore } from '../config/store.ts';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { SubsystemStatus } from '../supervisor/subsystem.ts';
import type { EventType } from '../telemetry/schema.ts';
import type { UpgradeFailure } from './slot-state.ts';
import { BOOT_AGAIN_EXIT, createUpgradeManager, preUpgradeConfigPath, serviceHealthy } from './upgrade-setup.ts';
import type { UpgradeManager } from './upgrade-manager.ts';
import type { UpgradeHooks } from '../control/routes/upgrade-routes.ts';

/** The running service as the upgrade start-up sees it (through functions: `postern run` may replace it on a restart). */
export interface UpgradeServiceView {
  subsystems(): Record<string, SubsystemStatus>;
  /** Gives the control API its upgrade routes' hooks. */
  attach(hooks: UpgradeHooks): void;
  event(type: EventType, details: Readonly<Record<string, unknown>>): void;
  stop(): Promise<void>;
}

export interface UpgradeBootOptions {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly trialSeconds?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** The board the service runs as (its architecture and name must match a bundle's). */
  readonly board?: BoardProfile;
  /** Ends the process (tests give their own). */
  readonly exit?: (code: number) => void;
}

/**
 * Before the service starts: when the launcher fell back from a failed trial, the configuration goes
 * back to the revision it had before the upgrade (the new version may have migrated it forward to
 * a format this one cannot read), so the rollback runs with the config it had.
 */
export async function prepareUpgrades(options: UpgradeBootOptions): Promise<PreparedUpgrades> {
  let rolledBack: UpgradeFailure | undefined;
  const manager = createUpgradeManager({
    logger: options.logger, stateDir: options.stateDir, ...(options.env ? { env: options.env } : {}), ...(options.trialSeconds ? { trialSeconds: options.trialSeconds } : {}), ...(options.board ? { board: options.board } : {}),
  });
  await manager.handleRollback(
    async (revision, failure) => {
      const store = await ConfigStore.open(join(resolve(options.stateDir), 'config'), { logger: options.logger.child('config') });
      const comment = `upgrade to ${failure.version} failed (${failure.reason}): the configuration of before the upgrade, revision ${revision}`;
      const kept = readSnapshot(options.stateDir, revision);
      if (kept) await store.write(kept, { author: 'postern', comment });
      else if (store.current().revision !== revision) await store.rollback(revision, { author: 'postern', comment });
      else return;
      options.logger.warn('configuration restored to its pre-upgrade revision', { revision, from: kept ? 'snapshot' : 'history' });
    },
    (failure) => (rolledBack = failure), // announced once the service (and its telemetry) runs: attachUpgrades
  );
  return { manager, rolledBack };
}

export interface PreparedUpgrades {
  readonly manager: UpgradeManager;
  /** The failed attempt this start rolled back from (announced once, by attachUpgrades). */
  readonly rolledBack: UpgradeFailure | undefined;
}

/** The configuration kept at apply (upgrade-setup.ts), when it is the revision the boot record names. */
function readSnapshot(stateDir: string, revision: number): PosternConfig | undefined {
  try {
    const doc = JSON.parse(readFileSync(preUpgradeConfigPath(stateDir), 'utf8')) as { revision?: unknown; config?: PosternConfig };
    return doc.revision === revision && doc.config ? doc.config : undefined;
  } catch {
    return undefined;
  }
}

/**
 * After the service started: the API gets the upgrade routes' manager; a trial boot watches its
 * health to commit (or fail and hand back to the launcher); a rolled-back attempt is announced to
 * the fleet console (MQTT event `upgrade-failed`) and stays in GET /api/v1/upgrade for the UI.
 */
export function attachUpgrades(prepared: PreparedUpgrades, service: UpgradeServiceView, options: UpgradeBootOptions): UpgradeHooks {
  const { manager, rolledBack } = prepared;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let leaving = false;
  const bootAgain = (): void => {
    if (leaving) return;
    leaving = true;
    manager.stop();
    service.stop().then(() => exit(BOOT_AGAIN_EXIT), () => exit(BOOT_AGAIN_EXIT));
  };
  const hooks: UpgradeHooks = { manager, bootAgain };
  service.attach(hooks);
  if (rolledBack) announce(service, rolledBack, options.logger);
  manager.watchTrial(() => serviceHealthy(service.subsystems()), bootAgain);
  return hooks;
}

/** Once per rollback; the telemetry buffers it while the broker is away (at least once). */
function announce(service: UpgradeServiceView, failure: UpgradeFailure, logger: Logger): void {
  const at = new Date(failure.at * 1000).toISOString();
  logger.error('the last upgrade failed and was rolled back', { version: failure.version, reason: failure.reason, at });
  service.event('upgrade-failed', { version: failure.version, slot: failure.slot, reason: failure.reason, at });
}
