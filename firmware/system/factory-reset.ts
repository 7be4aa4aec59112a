import { readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Factory reset (issue 18): the state directory emptied (configuration and its history, PKI, issued
 * certificates, ACME account, users), the image untouched, then a restart into first boot.
 *
 * The process exits with this code once the state is gone; the init integration restarts it
 * (systemd Restart=always, procd respawn, the `make run` loop), and on a board the restart is a reboot.
 */
export const FACTORY_RESET_EXIT_CODE = 3;

/** What the API wants in `confirm` besides the admin password: typed, not clicked by accident. */
export const FACTORY_RESET_CONFIRM = 'erase everything';

/**
 * Removes every entry of the state directory but the directory itself and `keep` (e.g. the runtime
 * directory the running driver was loaded from, when it lies inside). Returns the names removed.
 */
export function wipeStateDir(stateDir: string, keep: readonly string[] = []): string[] {
  const root = resolve(stateDir);
  const kept = new Set(keep.map((k) => relative(root, resolve(k))).filter((r) => r !== '' && !r.startsWith('..')).map((r) => r.split('/')[0]));
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    if (kept.has(name)) continue;
    rmSync(join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
