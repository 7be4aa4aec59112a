/**
 * The retained `<prefix>/<serial>/reported` message (issue 26): what this box runs from the fleet
 * (`applied`) and what it did with the last desired message it heard (`last`), so a console sees
 * both "revision X is running" and "your newest document was refused at these fields".
 *
 *   { schema: 1, ts, serial,
 *     applied?: { revision, sequence, payloadSha256, configRevision, confirmed, at },
 *     last?: { outcome, sequence?, revision?, code?, reason?, errors?, safeMode?, configRevision?, at },
 *     drift?: { configRevision, author, sections } }
 *
 * outcome: applied | pending-confirmation (safe mode: waiting to reach the broker again) |
 * refused (not authentic, not for this box, stale, replayed, rolled back, or invalid: `errors` at
 * their field paths) | failed (a subsystem could not take it; rolled back) | reverted (safe mode
 * undid it: the box did not reach its broker again in time) | revert-failed | reapplied (a local
 * change undone because desired state wins on this box).
 *
 * `drift`: the running configuration is not the one the fleet applied (a technician's local change):
 * which revision runs, who made it, and which top-level sections differ; never their values.
 * After a restart `last` is the refusal kept on disk when nothing was applied after it
 * (last-refused-file.ts), else absent until the next desired message.
 */
import type { ConfigIssue } from '../config/types.ts';

export const REPORTED_SCHEMA = 1;

export type Outcome = 'applied' | 'pending-confirmation' | 'refused' | 'failed' | 'reverted' | 'revert-failed' | 'reapplied';

export interface AppliedState {
  readonly revision: string;
  readonly sequence: number;
  readonly payloadSha256: string;
  /** The box's own configuration revision it became. */
  readonly configRevision: number;
  /** False while safe mode waits for the broker. */
  readonly confirmed: boolean;
  readonly at: string;
  /** The sequence of the box's variables it was filled from (a templated document). */
  readonly variablesSequence?: number;
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
  /** About the box's variables rather than a desired document (a refused variables message). */
  readonly about?: 'variables';
  /** The sequence of the box's variables a templated document was filled from. */
  readonly variablesSequence?: number;
  readonly at: string;
}

export interface Drift {
  /** The box's configuration revision running now, and who made it. */
  readonly configRevision: number;
  readonly author: string;
  /** The top-level sections that differ from the desired configuration (names only). */
  readonly sections: readonly string[];
}

export interface ReportedMessage {
  readonly schema: typeof REPORTED_SCHEMA;
  readonly ts: string;
  readonly serial: string;
  readonly applied?: AppliedState;
  readonly last?: LastOutcome;
  readonly drift?: Drift;
  /** The box's variables accepted last. */
  readonly variables?: { readonly sequence: number };
}

export function reportedMessage(serial: string, state: { applied?: AppliedState | undefined; last?: LastOutcome | undefined; drift?: Drift | undefined; variables?: { sequence: number } | undefined }, now: number): ReportedMessage {
  const { applied, last, drift, variables } = state;
  return { schema: REPORTED_SCHEMA, ts: new Date(now).toISOString(), serial, ...(applied ? { applied } : {}), ...(last ? { last } : {}), ...(drift ? { drift } : {}), ...(variables ? { variables } : {}) };
}
