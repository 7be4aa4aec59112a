/**
 * Drift (issue 26): the running configuration against the one the fleet last applied, and what to
 * do about a local change (a technician's edit through the web UI, the API, an import or a
 * rollback). Pure: configurations and the change's author in, a decision out.
 *
 * Only top-level section names are reported, never values: the console learns that `sites` was
 * changed locally, not a key. `admin` is never compared (the fleet never sets it, docs/fleet.md).
 *
 * The choice on a local change is the operator's when the desired document makes it; when it does
 * not, it is the box's own, set on the web UI's Fleet page and kept beside the ledger
 * (local-choice.ts), not in the configuration: so it is never drift, and no re-apply touches it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { PosternConfig } from '../config/types.ts';

export type OnLocalChange = 'keep' | 'desired-wins';

/** Authors of changes that are not a technician's: the fleet itself, safe mode undoing a change, the service migrating. */
const NOT_LOCAL = new Set(['fleet', 'safe-mode', 'postern']);

/** The top-level sections whose contents differ, sorted (the local administrator left out). */
export function driftSections(desired: PosternConfig, running: PosternConfig): string[] {
  const a = desired as unknown as Record<string, unknown>;
  const b = running as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('admin');
  return [...keys].filter((k) => !isDeepStrictEqual(a[k], b[k])).sort();
}

/** Who made the choice in force: the operator (in the desired document), the box (its Fleet page), or nobody ('keep'). */
export type PolicySource = 'desired' | 'local' | 'default';

/** The choice in force: the desired document's when it makes one (a technician cannot opt out by editing it locally), else the box's own, else keep. */
export function localChangePolicy(desired: PosternConfig | undefined, local?: OnLocalChange): { readonly value: OnLocalChange; readonly source: PolicySource } {
  const operator = desired?.telemetry.mqtt.fleet?.onLocalChange;
  if (operator !== undefined) return { value: operator, source: 'desired' };
  return local !== undefined ? { value: local, source: 'local' } : { value: 'keep', source: 'default' };
}

export type LocalChangeDecision =
  | { readonly kind: 'none' }
  /** Report the drift and keep the local change. */
  | { readonly kind: 'report'; readonly sections: readonly string[] }
  /** Desired state wins: apply this configuration again (the desired one with the box's own administrator). */
  | { readonly kind: 'reapply'; readonly sections: readonly string[]; readonly next: PosternConfig };

/**
 * After a configuration change by `author`. Desired state is re-applied only for a technician's
 * change, only while the fleet's state is confirmed (not while safe mode waits), and never when the
 * change took the box out of the fleet (fleet or MQTT turned off locally: the documented way out).
 */
export function decideLocalChange(input: { desired: PosternConfig | undefined; running: PosternConfig; author: string; confirmed: boolean; local?: OnLocalChange | undefined }): LocalChangeDecision {
  const { desired, running } = input;
  if (!desired) return { kind: 'none' };
  const sections = driftSections(desired, running);
  if (sections.length === 0) return { kind: 'none' };
  const stillInFleet = running.telemetry.mqtt.enabled && running.telemetry.mqtt.fleet?.enabled === true;
  const reapply = localChangePolicy(desired, input.local).value === 'desired-wins' && !NOT_LOCAL.has(input.author) && input.confirmed && stillInFleet;
  return reapply ? { kind: 'reapply', sections, next: { ...structuredClone(desired), admin: running.admin } } : { kind: 'report', sections };
}
