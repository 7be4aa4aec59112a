import { compareVersions } from './version-order.ts';

/**
 * The A/B boot state, sans I/O: one small record, its text form, and every change to it as a pure
 * function. The launcher (a POSIX sh script, firmware/upgrade/launcher.sh) reads and writes the
 * same text, so the form is `key=value` lines with plain values (no quoting, no JSON to parse in sh).
 *
 * The rule that keeps a box bootable: a slot is only ever booted when the record names it as
 * `active` or as `trial`, and the record names a slot only after that slot was written, synced
 * and its hash checked. The record itself is replaced atomically (write, fsync, rename, fsync dir).
 */
export type Slot = 'a' | 'b';
export const otherSlot = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

/** Why a trial ended without a commit. */
export type FailureReason =
  /** The launcher found the trial's boot tries used up (it exited, hung or the box lost power). */
  | 'not-committed'
  /** The new version ran but did not become healthy within the trial time. */
  | 'unhealthy'
  /** The slot's bytes no longer match the hash recorded at install. */
  | 'hash-mismatch';

export interface SlotInfo {
  readonly version: string;
  readonly sha256: string;
  /** The bundle's anti-rollback floor, taken by the box when this slot is committed. */
  readonly minVersion: string;
}

export interface UpgradeFailure {
  readonly slot: Slot;
  readonly version: string;
  readonly reason: FailureReason;
  /** Seconds since the epoch (the launcher writes `date +%s`). */
  readonly at: number;
  /** The old slot's service has restored the configuration and sent the event. */
  readonly handled: boolean;
}

export interface BootState {
  readonly active: Slot;
  /** The slot to try on the next boot(s); absent when no upgrade is pending. */
  readonly trial: Slot | undefined;
  /** Boots of the trial slot so far (the launcher counts them before starting it). */
  readonly tries: number;
  /** Boots a trial gets before the launcher gives up on it. */
  readonly maxTries: number;
  /** Seconds a trial has to commit before the launcher stops it. */
  readonly trialSeconds: number;
  readonly slots: { readonly a: SlotInfo | undefined; readonly b: SlotInfo | undefined };
  /** No bundle older than this is installed (the highest committed minVersion). */
  readonly floor: string;
  /** The configuration revision before the pending or last upgrade: a rollback restores it. */
  readonly configRevision: number | undefined;
  readonly lastFailure: UpgradeFailure | undefined;
  /** The last upgrade that was committed: its version and when. */
  readonly lastCommit: { readonly version: string; readonly at: number } | undefined;
}

export const initialBootState = (a: SlotInfo | undefined): BootState => ({
  active: 'a', trial: undefined, tries: 0, maxTries: 1, trialSeconds: 300, slots: { a, b: undefined },
  floor: '0.0.0', configRevision: undefined, lastFailure: undefined, lastCommit: undefined,
});

const VALUE = /^[A-Za-z0-9._:+-]*$/;

export function encodeBootState(s: BootState): string {
  const slot = (n: Slot): Array<[string, string]> => {
    const info = s.slots[n];
    return [[`${n}_version`, info?.version ?? ''], [`${n}_sha256`, info?.sha256 ?? ''], [`${n}_min_version`, info?.minVersion ?? '']];
  };
  const f = s.lastFailure;
  const lines: Array<[string, string]> = [
    ['format', '1'], ['active', s.active], ['trial', s.trial ?? ''], ['tries', String(s.tries)], ['max_tries', String(s.maxTries)],
    ['trial_seconds', String(s.trialSeconds)], ...slot('a'), ...slot('b'), ['floor', s.floor],
    ['config_revision', s.configRevision === undefined ? '' : String(s.configRevision)],
    ['failed_slot', f?.slot ?? ''], ['failed_version', f?.version ?? ''], ['failed_reason', f?.reason ?? ''], ['failed_at', f ? String(f.at) : ''],
    ['failed_handled', f ? (f.handled ? '1' : '0') : ''],
    ['committed_version', s.lastCommit?.version ?? ''], ['committed_at', s.lastCommit ? String(s.lastCommit.at) : ''],
  ];
  for (const [k, v] of lines) if (!VALUE.test(v)) throw new Error(`boot state ${k}: '${v}' has characters the launcher cannot read`);
  return `${lines.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

const isSlot = (v: string | undefined): v is Slot => v === 'a' || v === 'b';
const REASONS: ReadonlySet<string> = new Set(['not-committed', 'unhealthy', 'hash-mismatch']);

/** The record from its text, or why not (a damaged record is reported; the launcher then boots slot a). */
export function decodeBootState(text: string): BootState | string {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 1) return `line '${line.slice(0, 40)}' is not key=value`;
    m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (m.get('format') !== '1') return 'format is not 1';
  const active = m.get('active');
  const trial = m.get('trial') ?? '';
  if (!isSlot(active)) return 'active must be a or b';
  if (trial !== '' && (!isSlot(trial) || trial === active)) return 'trial must be empty or the other slot';
  const int = (k: string): number | undefined => (/^\d{1,12}$/.test(m.get(k) ?? '') ? Number(m.get(k)) : undefined);
  const tries = int('tries');
  const maxTries = int('max_tries');
  const trialSeconds = int('trial_seconds');
  if (tries === undefined || maxTries === undefined || maxTries < 1 || trialSeconds === undefined) return 'tries, max_tries and trial_seconds must be numbers';
  const info = (n: Slot): SlotInfo | undefined => {
    const version = m.get(`${n}_version`) ?? '';
    const sha256 = m.get(`${n}_sha256`) ?? '';
    return version && /^[0-9a-f]{64}$/.test(sha256) ? { version, sha256, minVersion: m.get(`${n}_min_version`) || '0.0.0' } : undefined;
  };
  const failedSlot = m.get('failed_slot');
  const reason = m.get('failed_reason') ?? '';
  const lastFailure: UpgradeFailure | undefined = isSlot(failedSlot) && REASONS.has(reason)
    ? { slot: failedSlot, version: m.get('failed_version') ?? '', reason: reason as FailureReason, at: int('failed_at') ?? 0, handled: m.get('failed_handled') === '1' }
    : undefined;
  const committed = m.get('committed_version') ?? '';
  return {
    active, trial: isSlot(trial) ? trial : undefined, tries, maxTries, trialSeconds, slots: { a: info('a'), b: info('b') },
    floor: m.get('floor') || '0.0.0', configRevision: int('config_revision'), lastFailure,
    lastCommit: committed ? { version: committed, at: int('committed_at') ?? 0 } : undefined,
  };
}

export type Refused = { readonly ok: false; readonly why: string };
export type Changed = { readonly ok: true; readonly state: BootState };
const refuse = (why: string): Refused => ({ ok: false, why });

/** Where the next bundle goes: the slot not running; refused while a trial is pending. */
export function installTarget(s: BootState): { ok: true; slot: Slot } | Refused {
  if (s.trial) return refuse(`an upgrade to slot ${s.trial} is waiting for its trial boot`);
  return { ok: true, slot: otherSlot(s.active) };
}

/** Before the slot is overwritten: the record stops describing it, so no one trusts half a write. */
export function forgetSlot(s: BootState, slot: Slot): Changed | Refused {
  if (slot === s.active) return refuse(`slot ${slot} is the running one`);
  if (slot === s.trial) return refuse(`slot ${slot} is waiting for its trial boot`);
  return { ok: true, state: { ...s, slots: { ...s.slots, [slot]: undefined } } };
}

/** The slot is written, synced and verified: the record may describe it. */
export function recordSlot(s: BootState, slot: Slot, info: SlotInfo): Changed | Refused {
  if (slot === s.active || slot === s.trial) return refuse(`slot ${slot} is in use`);
  // New bytes in a slot whose last trial failed: that failure (handled) no longer describes it.
  const lastFailure = s.lastFailure?.slot === slot && s.lastFailure.handled ? undefined : s.lastFailure;
  return { ok: true, state: { ...s, slots: { ...s.slots, [slot]: info }, lastFailure } };
}

/** Apply: boot the recorded slot once on trial, remembering the configuration to go back to. */
export function markTrial(s: BootState, slot: Slot, configRevision: number | undefined, trialSeconds: number): Changed | Refused {
  if (s.trial) return refuse(`slot ${s.trial} is already on trial`);
  if (slot === s.active) return refuse(`slot ${slot} is the running one`);
  if (!s.slots[slot]) return refuse(`slot ${slot} holds no verified executable`);
  return { ok: true, state: { ...s, trial: slot, tries: 0, trialSeconds, configRevision } };
}

/** The trial reached healthy: it becomes the active slot and its floor the box's. */
export function commitTrial(s: BootState, running: Slot, now: number): Changed | Refused {
  if (s.trial !== running) return refuse(`slot ${running} is not on trial`);
  const info = s.slots[running];
  if (!info) return refuse(`slot ${running} is not recorded`);
  const floor = compareVersions(info.minVersion, s.floor) > 0 ? info.minVersion : s.floor;
  return { ok: true, state: { ...s, active: running, trial: undefined, tries: 0, floor, lastCommit: { version: info.version, at: now } } };
}

/** The trial gave up (unhealthy in time, or the launcher found it unbootable): the active slot boots again. */
export function failTrial(s: BootState, reason: FailureReason, now: number): Changed | Refused {
  const slot = s.trial;
  if (!slot) return refuse('no slot is on trial');
  const failure: UpgradeFailure = { slot, version: s.slots[slot]?.version ?? '', reason, at: now, handled: false };
  return { ok: true, state: { ...s, trial: undefined, tries: 0, lastFailure: failure } };
}

/** The old slot restored the configuration and reported the failure. */
export function failureHandled(s: BootState): Changed | Refused {
  if (!s.lastFailure || s.lastFailure.handled) return refuse('no unhandled failure');
  return { ok: true, state: { ...s, lastFailure: { ...s.lastFailure, handled: true } } };
}

/**
 * What the launcher decides at boot (launcher.sh does the same in sh; tests hold them to each
 * other): the trial slot while it has tries left (counting this one), else the active slot.
 */
export function chooseBoot(s: BootState, now: number): { slot: Slot; trial: boolean; state: BootState } {
  if (s.trial && s.tries < s.maxTries) return { slot: s.trial, trial: true, state: { ...s, tries: s.tries + 1 } };
  if (s.trial) {
    const failed = failTrial(s, 'not-committed', now);
    if (failed.ok) return { slot: s.active, trial: false, state: failed.state };
  }
  return { slot: s.active, trial: false, state: s };
}
