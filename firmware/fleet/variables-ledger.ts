/**
 * The box's variables as last accepted, at `<state>/fleet/variables.json` (0600: values may be
 * keys), with their sequence: their own space, apart from desired documents'. Kept on disk so a
 * restarted box fills a group's document at once, whatever order the broker's retained messages
 * come in. Unreadable: variables are refused until it is fixed (never a silent reset of the sequence).
 */
import { RECENT_KEPT } from './desired-ledger.ts';
import { readFleetJson, writeFleetFile } from './state-file.ts';
import { decodeVariables, type Variables } from './variables.ts';
import type { LastAccepted } from './verify-desired.ts';

export interface VariablesEntry extends LastAccepted {
  readonly acceptedAt: number;
  readonly variables: Variables;
}

export type VariablesRead = { readonly ok: true; readonly entry: VariablesEntry | undefined } | { readonly ok: false; readonly why: string };

const FILE = 'variables.json';

export function readVariablesLedger(stateDir: string): VariablesRead {
  const read = readFleetJson(stateDir, FILE, (parsed) => {
    const v = parsed as Partial<VariablesEntry>;
    const variables = decodeVariables(v.variables);
    if (!Number.isSafeInteger(v.sequence) || typeof v.payloadSha256 !== 'string' || !Array.isArray(v.recent) || !variables.ok) return undefined;
    return { ...(v as VariablesEntry), variables: variables.value };
  });
  return read.ok ? { ok: true, entry: read.value } : read;
}

export function writeVariablesLedger(stateDir: string, entry: VariablesEntry): void {
  writeFleetFile(stateDir, FILE, `${JSON.stringify(entry)}\n`, 0o600);
}

/** The entry after accepting these variables (pure). */
export function acceptedVariables(previous: VariablesEntry | undefined, next: { sequence: number; payloadSha256: string; variables: Variables; at: number }): VariablesEntry {
  return { sequence: next.sequence, payloadSha256: next.payloadSha256, recent: [...(previous?.recent ?? []), next.payloadSha256].slice(-RECENT_KEPT), acceptedAt: next.at, variables: next.variables };
}
