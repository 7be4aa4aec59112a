import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from './command.ts';
import { isProcessAlive } from '../../firmware/util/process.ts';

/**
 * What every lab run has made, on disk, so that the run itself (on exit, on a signal) or a later
 * run (after a SIGKILL) can remove it: namespaces, PIDs, directories. Only entries whose owner
 * process is gone are swept; nothing without a record here is ever touched.
 */
export const REGISTRY_DIR = '/run/postern-lab';

export interface RunRecord {
  owner: number;
  prefix: string;
  namespaces: string[];
  pids: number[];
  dirs: string[];
  /** veth ends created in the root namespace before being moved into a host. */
  rootLinks: string[];
}

const recordPath = (prefix: string) => join(REGISTRY_DIR, `${prefix}.json`);

export function saveRecord(record: RunRecord): void {
  mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o700 });
  writeFileSync(recordPath(record.prefix), JSON.stringify(record));
}


/** Kills by PID (TERM, then KILL), every process still inside the namespaces, then deletes them. */
export function destroy(record: RunRecord): void {
  for (const pid of record.pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 2000;
  while (record.pids.some(isProcessAlive) && Date.now() < deadline) runSync(['sleep', '0.05']);
  for (const pid of record.pids) signal(pid, 'SIGKILL');
  for (const ns of record.namespaces) {
    // Anything a test started in its own namespace (grandchildren included) ends with it.
    for (const pid of runSync(['ip', 'netns', 'pids', ns]).stdout.split(/\s+/).filter(Boolean)) signal(Number(pid), 'SIGKILL');
    runSync(['ip', 'netns', 'delete', ns]);
  }
  // A veth end still in the root namespace means the run died between creating and moving it.
  for (const link of record.rootLinks ?? []) {
    if (runSync(['ip', 'link', 'show', link]).code === 0) runSync(['ip', 'link', 'delete', link]);
  }
  for (const dir of record.dirs) rmSync(dir, { recursive: true, force: true });
  rmSync(recordPath(record.prefix), { force: true });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Removes what runs that died without cleaning up left behind. Returns the prefixes swept. */
export function sweepDeadRuns(): string[] {
  if (!existsSync(REGISTRY_DIR)) return [];
  const swept: string[] = [];
  for (const name of readdirSync(REGISTRY_DIR).filter((n) => n.endsWith('.json'))) {
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(join(REGISTRY_DIR, name), 'utf8')) as RunRecord;
    } catch {
      continue;
    }
    if (isProcessAlive(record.owner)) continue;
    destroy(record);
    swept.push(record.prefix);
  }
  return swept;
}
