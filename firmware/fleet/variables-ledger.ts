/**
 * The box's variables as last accepted, at `<state>/fleet/variables.json` (0600: values may be
 * keys), with their sequence: their own space, apart from desired documents'. Kept on disk so a
 * restarted box fills a group's document at once, whatever order the broker's retained messages
 * come in. Unreadable: variables are refused until it is fixed (never a silent reset of the sequence).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import { RECENT_KEPT } from './desired-ledger.ts';
import { decodeVariables, type Variables } from './variables.ts';
import type { LastAccepted } from './verify-desired.ts';

export interface VariablesEntry extends LastAccepted {
  readonly acceptedAt: number;
  readonly variables: Variables;
}

export type VariablesRead = { readonly ok: true; readonly entry: VariablesEntry | undefined } | { readonly ok: false; readonly why: string };

const file = (stateDir: string) => join(stateDir, 'fleet', 'variables.json');

export function readVariablesLedger(stateDir: string): VariablesRead {
  const path = file(stateDir);
  if (!existsSync(path)) return { ok: true, entry: undefined };
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<VariablesEntry>;
    const variables = decodeVariables(v.variables);
    if (!Number.isSafeInteger(v.sequence) || typeof v.payloadSha256 !== 'string' || !Array.isArray(v.recent) || !variables.ok) return { ok: false, why: `${path}: fields missing` };
    return { ok: true, entry: { ...(v as VariablesEntry), variables: variables.value } };
  } catch (error) {
    return { ok: false, why: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function writeVariablesLedger(stateDir: string, entry: VariablesEntry): void {
  mkdirSync(join(stateDir, 'fleet'), { recursive: true, mode: 0o700 });
  writeFileAtomic(file(stateDir), `${JSON.stringify(entry)}\n`, 0o600);
}

/** The entry after accepting these variables (pure). */
export function acceptedVariables(previous: VariablesEntry | undefined, next: { sequence: number; payloadSha256: string; variables: Variables; at: number }): VariablesEntry {
  return { sequence: next.sequence, payloadSha256: next.payloadSha256, recent: [...(previous?.recent ?? []), next.payloadSha256].slice(-RECENT_KEPT), acceptedAt: next.at, variables: next.variables };
}
