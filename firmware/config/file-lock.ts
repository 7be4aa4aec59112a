import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { isProcessAlive } from '../util/process.ts';


/**
 * A lock between processes: a file created with O_EXCL holding the owner's PID. A lock whose owner
 * died (SIGKILL, power loss) is broken; a live owner is waited for, boundedly.
 */
export async function withFileLock<T>(path: string, waitMs: number, work: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readOwner(path), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !isProcessAlive(owner)) {
      removeIfOwner(path, String(owner));
      continue;
    }
    // A lock without a PID is being written; one that stays empty belonged to a writer killed in between.
    if (readOwner(path) === '' && ageMs(path) > EMPTY_LOCK_STALE_MS) {
      removeIfOwner(path, '');
      continue;
    }
    if (Date.now() > deadline) throw new PosternError(ErrorCode.configConflict, `configuration is locked by process ${owner || 'unknown'}`);
    await sleep(5 + Math.random() * 10);
  }
  try {
    return await work();
  } finally {
    removeIfOwner(path, String(process.pid));
  }
}

const EMPTY_LOCK_STALE_MS = 2000;

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function readOwner(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function removeIfOwner(path: string, owner: string): void {
  if (readOwner(path) !== owner) return;
  try {
    unlinkSync(path);
  } catch {
    // Someone else broke it first: fine.
  }
}
