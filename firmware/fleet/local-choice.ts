/**
 * The box's own choice on a local change (issue 26), at `<state>/fleet/on-local-change.json`: set on
 * the web UI's Fleet page, in force only while the operator's desired document makes none (drift.ts).
 * Kept beside the ledger, not in the configuration, so setting it is no drift and no re-apply of the
 * desired configuration undoes it. Unreadable or absent: no choice (keep).
 */
import type { OnLocalChange } from './drift.ts';
import { readFleetJson, removeFleetFile, writeFleetFile } from './state-file.ts';

const FILE = 'on-local-change.json';

export function readLocalChoice(stateDir: string): OnLocalChange | undefined {
  const read = readFleetJson(stateDir, FILE, (parsed) => {
    const v = (parsed as { onLocalChange?: unknown } | null)?.onLocalChange;
    return v === 'keep' || v === 'desired-wins' ? v : undefined;
  });
  return read.ok ? read.value : undefined;
}

export function writeLocalChoice(stateDir: string, choice: OnLocalChange | undefined): void {
  if (choice === undefined) removeFleetFile(stateDir, FILE);
  else writeFleetFile(stateDir, FILE, `${JSON.stringify({ onLocalChange: choice })}\n`);
}
