import { mkdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import { request as httpRequest } from 'node:http';
import { builtInBoard } from '../board/load.ts';
import type { BoardProfile } from '../board/types.ts';
import { buildInfo } from '../build-info.ts';
import type { Logger } from '../log/logger.ts';
import type { SubsystemStatus } from '../supervisor/subsystem.ts';
import type { BundleArch } from './bundle-format.ts';
import { nodeSlotFs } from './slot-fs.ts';
import { boardSlotLayout, SlotStore, type SlotLayout } from './slot-store.ts';
import { trustedUpgradeKey } from './trusted-key.ts';
import { UpgradeManager, type RunningSlot } from './upgrade-manager.ts';

/** The exit code that tells postern-launcher to boot again (launcher.sh BOOT_AGAIN). */
export const BOOT_AGAIN_EXIT = 75;
/** The largest executable a box takes (arm64 ≈ 104 MB, x64 ≈ 115 MB today). */
export const DEFAULT_MAX_PAYLOAD = 256 * 1024 * 1024;
export const DEFAULT_TRIAL_SECONDS = 300;

const ARCH: Readonly<Record<string, BundleArch>> = { x64: 'x64', arm64: 'arm64', arm: 'armv7' };

/** What postern-launcher tells the executable it started (launcher.sh exports these). */
export function runningSlotFromEnv(env: NodeJS.ProcessEnv): { running: RunningSlot; layout: SlotLayout | undefined } {
  const slot = env['POSTERN_SLOT'] === 'a' || env['POSTERN_SLOT'] === 'b' ? env['POSTERN_SLOT'] : undefined;
  const a = env['POSTERN_SLOT_A'];
  const b = env['POSTERN_SLOT_B'];
  const stateFile = env['POSTERN_BOOT_STATE'];
  return { running: { slot, trial: slot !== undefined && env['POSTERN_TRIAL'] === '1' }, layout: a && b && stateFile ? { a, b, stateFile } : undefined };
}

/**
 * The configuration file as it is before an upgrade, kept byte for byte: the new version migrates the
 * store (and its history) forward to its own format, which the version rolled back to may not read.
 */
export const preUpgradeConfigPath = (stateDir: string): string => join(resolve(stateDir), 'upgrade', 'config-before-upgrade.json');

function snapshotConfig(stateDir: string): void {
  const current = readFileSync(join(resolve(stateDir), 'config', 'current.json'));
  mkdirSync(dirname(preUpgradeConfigPath(stateDir)), { recursive: true, mode: 0o700 });
  writeFileAtomic(preUpgradeConfigPath(stateDir), current, 0o600);
}

export function createUpgradeManager(options: { logger: Logger; env?: NodeJS.ProcessEnv; trialSeconds?: number; maxPayloadBytes?: number; board?: BoardProfile; stateDir?: string }): UpgradeManager {
  const stateDir = options.stateDir;
  const { running, layout: fromLauncher } = runningSlotFromEnv(options.env ?? process.env);
  const board = options.board ?? builtInBoard();
  const fromBoard = board ? boardSlotLayout(board) : 'no board profile is built in';
  const layout = fromLauncher ?? (typeof fromBoard === 'string' ? undefined : fromBoard);
  const key = trustedUpgradeKey();
  if (key?.dev) options.logger.warn('insecure: this image trusts the development update-signing key (anyone with the build cache can sign bundles for it)');
  return new UpgradeManager({
    slots: layout ? new SlotStore(layout, nodeSlotFs) : undefined,
    ...(layout ? {} : { why: typeof fromBoard === 'string' ? fromBoard : 'no slot layout' }),
    key, arch: ARCH[process.arch] ?? 'x64', board: board?.name ?? `generic-${ARCH[process.arch] ?? process.arch}`, version: buildInfo.version, running,
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD, trialSeconds: options.trialSeconds ?? DEFAULT_TRIAL_SECONDS,
    logger: options.logger, now: () => Math.floor(Date.now() / 1000),
    ...(stateDir ? { beforeApply: () => snapshotConfig(stateDir) } : {}),
  });
}

/**
 * Healthy for a trial's commit: no subsystem failed, starting or stopping (stopped means not
 * enabled), and the management server answers its own /healthz over the network stack.
 */
export async function serviceHealthy(subsystems: Readonly<Record<string, SubsystemStatus>>, timeoutMs = 3000): Promise<boolean> {
  if (Object.values(subsystems).some((s) => s.state === 'failed' || s.state === 'starting' || s.state === 'stopping')) return false;
  const web = subsystems['web'];
  if (web?.state !== 'running' || !web.detail) return false;
  const base = new URL(web.detail);
  if (base.hostname === '0.0.0.0') base.hostname = '127.0.0.1';
  if (base.hostname === '[::]') base.hostname = '[::1]';
  const request = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    // Our own certificate: reachability is the question here, not identity.
    const req = request(new URL('/healthz', base), { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
