/**
 * From an accepted desired payload to the configuration to apply (pure): a whole document, or a
 * JSON merge patch (RFC 7396) on the running configuration when its base is the revision this box
 * applied last. Both go through `documentFromInput`, as the API's PUT and import do ("<redacted>"
 * secrets kept, older formats migrated, users' passwords turned into NT hashes). The local
 * administrator is never set from the fleet: the box keeps its own. Whether the change needs safe
 * mode is decided here too. Placeholders (`{{var.NAME}}`, template.ts) are filled from the box's
 * variables first; a missing one refuses the document at its field.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ConfigIssue, PosternConfig } from '../config/types.ts';
import { documentFromInput } from '../control/routes/config-routes.ts';
import type { DesiredPayload } from './envelope.ts';
import { mergePatch } from './merge-patch.ts';
import { fillTemplate } from './template.ts';
import type { Variables } from './variables.ts';

export type Plan =
  /** `variables`: the names of the box's variables the document used. */
  | { readonly ok: true; readonly next: PosternConfig; readonly safeMode: readonly string[]; readonly variables: readonly string[] }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

export function planDesired(p: DesiredPayload, current: PosternConfig, appliedRevision: string | undefined, variables?: Variables): Plan {
  if (p.kind === 'patch' && p.base !== appliedRevision) {
    const has = appliedRevision === undefined ? 'none applied' : `'${appliedRevision}' applied`;
    return { ok: false, errors: [{ path: 'base', code: 'base-mismatch', message: `the patch is against '${p.base}', this box has ${has}` }] };
  }
  const filled = fillTemplate(p.kind === 'document' ? p.document : p.patch, variables);
  if (!filled.ok) return { ok: false, errors: filled.errors };
  const body = filled.value as Record<string, unknown>;
  const doc = p.kind === 'document' ? body : mergePatch(current, body);
  let next: PosternConfig;
  try {
    next = { ...documentFromInput(doc, current), admin: current.admin };
  } catch (error) {
    const issues = (error as { details?: { issues?: ConfigIssue[] } }).details?.issues;
    return { ok: false, errors: issues ?? [{ path: '(document)', code: 'invalid', message: error instanceof Error ? error.message : String(error) }] };
  }
  return { ok: true, next, safeMode: safeModeReasons(current, next), variables: filled.used };
}

/**
 * A change that could cut the box off its broker is applied under safe mode: the WAN, and the MQTT
 * settings (broker, credentials, identity, fleet keys). The fleet confirms it only from a new
 * connection to the broker made after the change.
 */
export function safeModeReasons(current: PosternConfig, next: PosternConfig): string[] {
  const out: string[] = [];
  if (!isDeepStrictEqual(current.system.wan, next.system.wan)) out.push('system.wan');
  if (!isDeepStrictEqual(current.telemetry.mqtt, next.telemetry.mqtt)) out.push('telemetry.mqtt');
  return out;
}
