/**
 * The pending safe-mode change on disk (`<state>/config/safe-mode.json`), so a service that stops
 * or crashes while a change waits for confirmation goes back to the revision before it at start.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import type { PendingChange } from './safe-mode.ts';

const FILE = 'safe-mode.json';

export function writePending(configDir: string, pending: PendingChange | undefined): void {
  const path = join(configDir, FILE);
  if (pending) writeFileAtomic(path, `${JSON.stringify(pending)}\n`);
  else rmSync(path, { force: true });
}

/** The change left pending by the last run; an unreadable file counts as one whose revision is unknown. */
export function readPending(configDir: string): { pending?: PendingChange; unreadable?: string } {
  const path = join(configDir, FILE);
  if (!existsSync(path)) return {};
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<PendingChange>;
    if (!Number.isInteger(value.previousRevision) || !Number.isInteger(value.revision)) return { unreadable: 'no revisions in it' };
    return { pending: value as PendingChange };
  } catch (error) {
    return { unreadable: error instanceof Error ? error.message : String(error) };
  }
}
