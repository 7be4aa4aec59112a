import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Puts a directory built privately (`tmp`) in place as `dir`, for caches that two test files may fill
 * at the same time. `marker` names the file that only a finished directory has: when another builder
 * got there first, its finished directory stays (it may be in use) and ours is dropped — the inputs,
 * and so the contents, are the same. An unfinished leftover is replaced.
 */
export function placeBuiltDir(tmp: string, dir: string, marker: string): void {
  const finished = () => existsSync(join(dir, marker));
  if (finished()) return void rmSync(tmp, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(tmp, dir);
  } catch (error) {
    // Lost the race between the check and the rename: fine when the winner's copy is complete.
    if (!finished()) throw error;
    rmSync(tmp, { recursive: true, force: true });
  }
}
