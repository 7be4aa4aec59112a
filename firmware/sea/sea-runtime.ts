import type * as Sea from 'node:sea';
import { join } from 'node:path';
import { loadDriver, useDriverAt } from '../dataplane/native.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { prepareRuntimeDir, writeDriver } from './driver-asset.ts';

/** The asset name scripts/firmware/ gives the driver in the SEA configuration. */
export const DRIVER_ASSET = 'postern_dp.node';

function sea(): typeof Sea | undefined {
  // node:sea exists from Node 20.12; under an older node, or in a plain bundle, it is just not a SEA.
  try {
    return process.getBuiltinModule('node:sea');
  } catch {
    return undefined;
  }
}

/** Running as the firmware's single executable (not a bundle or source under node). */
export function isSingleExecutable(): boolean {
  return sea()?.isSea() ?? false;
}

/** Where the embedded driver goes: --runtime-dir, else /run/postern for root (tmpfs, no flash), else STATE/run. */
export function defaultRuntimeDir(stateDir: string): string {
  return process.getuid?.() === 0 ? '/run/postern' : join(stateDir, 'run');
}

/**
 * Writes the embedded driver to the runtime directory and loads it now, so that a directory the
 * kernel will not execute from stops the start with a clear error rather than the first tunnel.
 */
export function installEmbeddedDriver(runtimeDir: string): string {
  const s = sea();
  if (!s?.isSea()) throw new PosternError(ErrorCode.internal, 'not running as a single executable');
  let bytes: ArrayBuffer;
  try {
    bytes = s.getAsset(DRIVER_ASSET);
  } catch (error) {
    throw new PosternError(ErrorCode.driverUnavailable, `this executable carries no driver (${DRIVER_ASSET}): ${error instanceof Error ? error.message : String(error)}`);
  }
  const dir = prepareRuntimeDir(runtimeDir);
  const path = writeDriver(dir, new Uint8Array(bytes));
  useDriverAt(path);
  try {
    loadDriver();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new PosternError(ErrorCode.driverUnavailable, `the data-plane driver written to ${path} does not load: ${why}`);
  }
  return path;
}
