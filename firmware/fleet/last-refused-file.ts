/**
 * The last desired document (or variables) refused, failed or reverted (issue 26), kept at
 * `<state>/fleet/last-refused.json` (0600: field errors may quote values) so a restarted box still
 * shows it on the Fleet page and, when nothing happened after it, still reports it as `last`.
 * Written only for such outcomes (rare), never for an applied one. Losing it loses nothing but the
 * report: an unreadable file is set aside with a reason, never a reason to stop.
 */
import type { LastOutcome, Outcome } from './reported.ts';
import { readFleetJson, writeFleetFile } from './state-file.ts';

const FILE = 'last-refused.json';
const OUTCOMES: ReadonlySet<Outcome> = new Set(['applied', 'pending-confirmation', 'refused', 'failed', 'reverted', 'revert-failed', 'reapplied']);

export type LastRefusedRead = { readonly ok: true; readonly last: LastOutcome | undefined } | { readonly ok: false; readonly why: string };

export function readLastRefused(stateDir: string): LastRefusedRead {
  const read = readFleetJson(stateDir, FILE, (parsed) => {
    const v = parsed as Partial<LastOutcome> | null;
    return v && typeof v === 'object' && OUTCOMES.has(v.outcome as Outcome) && typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at)) ? (v as LastOutcome) : undefined;
  });
  return read.ok ? { ok: true, last: read.value } : read;
}

export function writeLastRefused(stateDir: string, last: LastOutcome): void {
  writeFleetFile(stateDir, FILE, `${JSON.stringify(last)}\n`, 0o600);
}

/** After a restart: the refusal is still the box's last outcome when nothing was applied after it. */
export function lastAfterRestart(refused: LastOutcome | undefined, appliedAt: string | undefined): LastOutcome | undefined {
  if (!refused) return undefined;
  return appliedAt === undefined || Date.parse(refused.at) >= Date.parse(appliedAt) ? refused : undefined;
}
