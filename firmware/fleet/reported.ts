/**
 * The retained `<prefix>/<serial>/reported` message (issue 26): what this box runs from the fleet
 * (`applied`) and what it did with the last desired message it heard (`last`), so a console sees
 * both "revision X is running" and "your newest document was refused at these fields".
 *
 *   { schema: 1, ts, serial,
 *     applied?: { revision, sequence, payloadSha256, configRevision, confirmed, at },
 *     last: { outcome, sequence?, revision?, code?, reason?, errors?, safeMode?, configRevision?, at } }
 *
 * outcome: applied | pending-confirmation (safe mode: waiting to reach the broker again) |
 * refused (not authentic, not for this box, stale, replayed, rolled back, or invalid: `errors` at
 * their field paths) | failed (a subsystem could not take it; rolled back) | reverted (safe mode
 * undid it: the box did not reach its broker again in time) | revert-failed.
 */
import type { ConfigIssue } from '../config/types.ts';

export const REPORTED_SCHEMA = 1;

export type Outcome = 'applied' | 'pending-confirmation' | 'refused' | 'failed' | 'reverted' | 'revert-failed';

export interface AppliedState {
  readonly revision: string;
  readonly sequence: number;
  readonly payloadSha256: string;
  /** The box's own configuration revision it became. */
  readonly configRevision: number;
  /** False while safe mode waits for the broker. */
  readonly confirmed: boolean;
  readonly at: string;
}

export interface LastOutcome {
  readonly outcome: Outcome;
  readonly sequence?: number;
  readonly revision?: string;
  /** A refusal's stable code (verify-desired.ts REFUSALS, or 'invalid', 'base-mismatch'). */
  readonly code?: string;
  readonly reason?: string;
  readonly errors?: readonly ConfigIssue[];
  /** The fields that put the change under safe mode. */
  readonly safeMode?: readonly string[];
  readonly configRevision?: number;
  readonly at: string;
}

export interface ReportedMessage {
  readonly schema: typeof REPORTED_SCHEMA;
  readonly ts: string;
  readonly serial: string;
  readonly applied?: AppliedState;
  readonly last: LastOutcome;
}

export function reportedMessage(serial: string, applied: AppliedState | undefined, last: LastOutcome, now: number): ReportedMessage {
  return { schema: REPORTED_SCHEMA, ts: new Date(now).toISOString(), serial, ...(applied ? { applied } : {}), last };
}
