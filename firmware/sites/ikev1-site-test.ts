/**
 * The site "Test" for IKEv1 sites (issue 19), sans-I/O: how far a dial got (read from the phase 1
 * SA's own transition history) turned into the steps a technician reads, with the connection
 * doctor's cause for a failure. The IKE subsystem dials and watches; ikev1/ikev1-site-dial-test.ts.
 */
import { CAUSES, type CauseCode } from '../doctor/causes.ts';
import { classify } from '../doctor/classify.ts';
import type { SiteTestResult, SiteTestStep } from './site-test.ts';

/** How far an initiator's phase 1 got: sent message 1, had message 2 (mm3), had 4 (mm5), up. */
export type Ikev1Reached = 'none' | 'sent' | 'answered' | 'keys' | 'established';

export interface Ikev1DialObservation {
  readonly address: string;
  readonly mode: 'Main' | 'Aggressive';
  readonly auth: 'psk' | 'certificate';
  readonly reached: Ikev1Reached;
  readonly children: number;
  /** The SA's closing reason, when it closed before the test ended. */
  readonly closedReason?: string;
  readonly timedOut: boolean;
  /** The site was already up: nothing dialled, the live SA reported. */
  readonly alreadyUp?: boolean;
  readonly ping?: { readonly target: string; readonly received: number; readonly sent: number };
  readonly elapsedMs: number;
}

/** Where a phase 1 SA is, from its history lines ("mm1 -> mm3: …", "… -> closed: why"). */
export function ikev1DialProgress(sa: { readonly history: readonly string[]; readonly children: readonly unknown[] }): { reached: Ikev1Reached; children: number; closedReason?: string } {
  const to = (state: string) => sa.history.some((h) => h.includes(` -> ${state}:`));
  const reached: Ikev1Reached = to('established') ? 'established' : to('mm5') ? 'keys' : to('mm3') ? 'answered' : 'sent';
  const closed = sa.history.map((h) => /-> closed: (.*)$/s.exec(h)?.[1]).find((r) => r !== undefined);
  return { reached, children: sa.children.length, ...(closed !== undefined ? { closedReason: closed } : {}) };
}

function timeoutReason(o: Ikev1DialObservation): string {
  if (o.reached === 'established') return 'no IPsec SA from Quick Mode within the test\'s time';
  if (o.reached === 'keys') return `no answer to Main Mode message 5 within the test's time: the peer could not check it, which usually means ${o.auth === 'psk' ? 'the pre-shared keys differ' : 'it refused our certificate or ID'}`;
  if (o.reached === 'answered') return 'no answer to Main Mode message 3 (the key exchange) within the test\'s time';
  return `no answer to ${o.mode} Mode within the test's time${o.mode === 'Aggressive' ? ' (or the peer refused it: Aggressive Mode not enabled there, or no proposal in common)' : ''}`;
}

/** The doctor's cause: the engine's own failure words first, then what the stage the dial stopped at says. */
function causeOf(site: string, o: Ikev1DialObservation, reason: string, failedAt: number): CauseCode {
  if (failedAt === 2) return 'child-refused';
  const engineLine = classify({ kind: 'ike-log', level: 'warn', msg: `site:${site} with ${o.address}: ${reason}` });
  if (engineLine) return engineLine.cause;
  if (/refused (Main|Aggressive) Mode with NO-PROPOSAL-CHOSEN/.test(reason)) return 'ike-proposal-mismatch';
  if (o.closedReason === undefined || /^no answer|not complete after/.test(reason)) {
    if (o.reached === 'sent') return 'no-answer';
    if (o.reached === 'keys') return o.auth === 'psk' ? 'psk-mismatch' : 'peer-refused';
  }
  return 'other';
}

const STEP_LABELS = (mode: string) => [
  ['peer', 'Peer address'],
  ['phase1', `${mode} Mode: peer reached on UDP 500, algorithms agreed, authenticated`],
  ['quick-mode', 'Quick Mode: IPsec SA installed (traffic can flow)'],
  ['ping', 'Ping through the tunnel'],
] as const;

export function ikev1TestResult(site: string, o: Ikev1DialObservation): SiteTestResult {
  const passed = o.reached === 'none' ? 0 : o.reached !== 'established' ? 1 : o.children === 0 ? 2 : 3;
  const failedAt = passed >= 3 ? undefined : passed;
  const reason = o.closedReason ?? (o.timedOut ? timeoutReason(o) : 'the dial could not start');
  const [peer, phase1, quick, ping] = STEP_LABELS(o.mode);
  const steps: SiteTestStep[] = [peer, phase1, quick].map(([id, label], i) => {
    if (i < passed) return { id, label, outcome: 'ok' as const, ...(i === 0 ? { detail: o.address } : i === 2 && o.alreadyUp ? { detail: 'the site was already up' } : {}) };
    if (i === failedAt) return { id, label, outcome: 'failed' as const, detail: reason };
    return { id, label, outcome: 'not-reached' as const };
  });
  if (failedAt !== undefined) steps.push({ id: ping[0], label: ping[1], outcome: 'not-reached' });
  else if (!o.ping) steps.push({ id: ping[0], label: ping[1], outcome: 'skipped', detail: 'no address to ping on the remote side' });
  else {
    // A host that does not answer ping says nothing certain about the tunnel: reported, not failed.
    const { target, received, sent } = o.ping;
    steps.push({ id: ping[0], label: ping[1], outcome: received > 0 ? 'ok' : 'skipped', detail: `${target}: ${received} of ${sent} answered${received > 0 ? '' : ' (the host may not answer ping)'}` });
  }
  const cause = failedAt === undefined ? undefined : causeOf(site, o, reason, failedAt);
  const problem = cause && { cause, explanation: CAUSES[cause].explanation, fix: CAUSES[cause].fix, detail: reason };
  return { site, protocol: 'ikev1', available: true, ok: failedAt === undefined, steps, ...(problem ? { problem } : {}), durationMs: o.elapsedMs };
}
