/**
 * The last desired state this box accepted, at `<state>/fleet/desired.json`, written atomically
 * before the change is applied: an authentic document consumes its sequence even if the apply then
 * fails or the box loses power, so it can never be replayed. A missing file is a box that accepted
 * none; an unreadable one refuses every document until it is fixed (never a silent reset of the
 * sequence, which would reopen replays).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { AppliedState } from './reported.ts';
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

const file = (stateDir: string) => join(stateDir, 'fleet', 'desired.json');

export function readLedger(stateDir: string): LedgerRead {
  const path = file(stateDir);
  if (!existsSync(path)) return { ok: true, entry: undefined };
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LedgerEntry>;
    if (!Number.isSafeInteger(v.sequence) || typeof v.payloadSha256 !== 'string' || typeof v.revision !== 'string' || !Array.isArray(v.recent)) return { ok: false, why: `${path}: fields missing` };
    return { ok: true, entry: v as LedgerEntry };
  } catch (error) {
    return { ok: false, why: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function writeLedger(stateDir: string, entry: LedgerEntry): void {
  mkdirSync(join(stateDir, 'fleet'), { recursive: true, mode: 0o700 });
  writeFileAtomic(file(stateDir), `${JSON.stringify(entry)}\n`);
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
