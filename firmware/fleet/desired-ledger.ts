/**
 * The last desired state this box accepted, at `<state>/fleet/desired.json`, written atomically
 * before the change is applied: an authentic document consumes its sequence even if the apply then
 * fails or the box loses power, so it can never be replayed. A missing file is a box that accepted
 * none; an unreadable one refuses every document until it is fixed (never a silent reset of the
 * sequence, which would reopen replays).
 */
import type { AppliedState } from './reported.ts';
import { readFleetJson, writeFleetFile } from './state-file.ts';
import type { LastAccepted } from './verify-desired.ts';

export const RECENT_KEPT = 32;

export interface LedgerEntry extends LastAccepted {
  /** The operator's revision name accepted last; a patch must name it as its base. */
  readonly revision: string;
  /** The configuration revision the last successful apply made (absent while none succeeded). */
  readonly appliedRevision?: string;
  readonly acceptedAt: number;
  /** The desired state running (kept so a restarted box still reports it, and drift from it). */
  readonly applied?: AppliedState;
}

export type LedgerRead = { readonly ok: true; readonly entry: LedgerEntry | undefined } | { readonly ok: false; readonly why: string };

const FILE = 'desired.json';

export function readLedger(stateDir: string): LedgerRead {
  const read = readFleetJson(stateDir, FILE, (parsed) => {
    const v = parsed as Partial<LedgerEntry>;
    return Number.isSafeInteger(v.sequence) && typeof v.payloadSha256 === 'string' && typeof v.revision === 'string' && Array.isArray(v.recent) ? (v as LedgerEntry) : undefined;
  });
  return read.ok ? { ok: true, entry: read.value } : read;
}

export function writeLedger(stateDir: string, entry: LedgerEntry): void {
  writeFleetFile(stateDir, FILE, `${JSON.stringify(entry)}\n`);
}

/** The entry after accepting `sequence` (pure). */
export function accepted(previous: LedgerEntry | undefined, next: { sequence: number; payloadSha256: string; revision: string; at: number }): LedgerEntry {
  const recent = [...(previous?.recent ?? []), next.payloadSha256].slice(-RECENT_KEPT);
  return {
    sequence: next.sequence, payloadSha256: next.payloadSha256, recent, revision: next.revision, acceptedAt: next.at,
    ...(previous?.appliedRevision !== undefined ? { appliedRevision: previous.appliedRevision } : {}),
    ...(previous?.applied !== undefined ? { applied: previous.applied } : {}),
  };
}
