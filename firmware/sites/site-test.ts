/**
 * The site "Test" (issue 17), sans-I/O: how far a dial got, turned into steps a technician reads
 * (each ok, failed or not reached) and, for a failure, the connection doctor's explanation and fix.
 * The shells (IKEv2, SSTP) observe a real dial and hand their observations here.
 */
import { CAUSES, type CauseCode } from '../doctor/causes.ts';
import { classify } from '../doctor/classify.ts';

export type StepOutcome = 'ok' | 'failed' | 'not-reached' | 'skipped';

export interface SiteTestStep {
  readonly id: string;
  readonly label: string;
  readonly outcome: StepOutcome;
  readonly detail?: string;
}

export interface SiteTestResult {
  readonly site: string;
  readonly protocol: string;
  /** False for a protocol this build cannot test (the steps are then empty). */
  readonly available: boolean;
  /** Why it could not be tested, when not available. */
  readonly reason?: string;
  readonly ok: boolean;
  readonly steps: readonly SiteTestStep[];
  /** Why it failed, in the doctor's words. */
  readonly problem?: { readonly cause: string; readonly explanation: string; readonly fix: string; readonly detail: string };
  readonly durationMs: number;
}

/** How far an IKEv2 dial got: its SA's state, children, and why it closed if it did. */
export interface IkeDialObservation {
  readonly address: string;
  /** Furthest state the dial's SA reached. */
  readonly reached: 'none' | 'init-sent' | 'init-done' | 'established';
  readonly children: number;
  /** Set when the SA closed before it was established. */
  readonly closedReason?: string;
  /** True when the test's deadline came first. */
  readonly timedOut: boolean;
  /** Ping through the tunnel, when tried. */
  readonly ping?: { readonly target: string; readonly received: number; readonly sent: number };
  readonly elapsedMs: number;
}

const IKE_STEPS = [
  ['peer', 'Peer address'],
  ['ike-sa-init', 'IKE_SA_INIT answered (peer reached on UDP 500, algorithms agreed)'],
  ['auth', 'Authenticated (IKE_AUTH)'],
  ['child', 'Child SA installed (traffic can flow)'],
  ['ping', 'Ping through the tunnel'],
] as const;

const IKE_LEVEL = { none: 0, 'init-sent': 1, 'init-done': 2, established: 3 } as const;

function problemOf(cause: CauseCode, detail: string): NonNullable<SiteTestResult['problem']> {
  const info = CAUSES[cause];
  return { cause, explanation: info.explanation, fix: info.fix, detail };
}

/** The steps of an IKEv2 dial, the first not passed marked failed and the rest not reached. */
export function ikeTestResult(site: string, o: IkeDialObservation): SiteTestResult {
  // Passed: peer (1) once a request went out, INIT (2), AUTH (3), child (4).
  const passed = o.reached === 'none' ? 0 : IKE_LEVEL[o.reached] + (o.reached === 'established' && o.children > 0 ? 1 : 0);
  const failedAt = passed >= 4 ? undefined : passed;
  const reason = o.closedReason ?? (o.timedOut ? timeoutReason(passed) : undefined);
  const problem = failedAt === undefined ? undefined : ikeProblem(site, reason ?? 'the dial stopped');
  const steps: SiteTestStep[] = IKE_STEPS.slice(0, 4).map(([id, label], i) => {
    if (i < passed) return { id, label, outcome: 'ok', ...(i === 0 ? { detail: o.address } : {}) };
    if (i === failedAt) return { id, label, outcome: 'failed', detail: reason ?? 'failed' };
    return { id, label, outcome: 'not-reached' };
  });
  const [pingId, pingLabel] = IKE_STEPS[4];
  if (failedAt !== undefined) steps.push({ id: pingId, label: pingLabel, outcome: 'not-reached' });
  else if (!o.ping) steps.push({ id: pingId, label: pingLabel, outcome: 'skipped', detail: 'no address to ping on the remote side' });
  else {
    // A host that does not answer ping says nothing certain about the tunnel: reported, not failed.
    const { target, received, sent } = o.ping;
    steps.push({ id: pingId, label: pingLabel, outcome: received > 0 ? 'ok' : 'skipped', detail: `${target}: ${received} of ${sent} answered${received > 0 ? '' : ' (the host may not answer ping)'}` });
  }
  return { site, protocol: 'ikev2', available: true, ok: failedAt === undefined, steps, ...(problem ? { problem } : {}), durationMs: o.elapsedMs };
}

function timeoutReason(passed: number): string {
  if (passed <= 1) return 'no answer to IKE_SA_INIT within the test\'s time';
  if (passed === 2) return 'no answer to IKE_AUTH within the test\'s time';
  return 'no child SA within the test\'s time';
}

/** The doctor's cause for a site's closing reason ("no answer to IKE_SA_INIT …" → no-answer). */
function ikeProblem(site: string, reason: string): NonNullable<SiteTestResult['problem']> {
  const facts = classify({ kind: 'ike-log', level: 'warn', msg: `IKE SA closed: ${reason}`, fields: { connection: `site:${site}` } });
  return problemOf(facts?.cause ?? 'other', reason);
}

/** How far an SSTP dial got. */
export interface SstpDialObservation {
  readonly host: string;
  readonly port: number;
  readonly reached: 'none' | 'tls' | 'sstp' | 'up';
  /** The address IPCP gave us, once up. */
  readonly address?: string;
  readonly closedReason?: string;
  readonly timedOut: boolean;
  /** The call was already up: nothing dialled, the live call reported. */
  readonly alreadyUp?: boolean;
  readonly elapsedMs: number;
}

const SSTP_STEPS = [
  ['tls', 'TLS connection to the peer (TCP reached, certificate trusted)'],
  ['sstp', 'SSTP call answered (HTTPS request accepted)'],
  ['ppp', 'Logged in and address agreed (PPP, MS-CHAPv2, IPCP)'],
] as const;

const SSTP_LEVEL = { none: 0, tls: 1, sstp: 2, up: 3 } as const;

/** What the SSTP client's reasons mean, in the doctor's words where it has them. */
function sstpProblem(reason: string, failedAt: number): NonNullable<SiteTestResult['problem']> {
  if (/certificate|self.signed|verify|fingerprint|revocation|revoked/i.test(reason)) {
    return { cause: 'untrusted-certificate', explanation: 'The peer\'s certificate is not trusted here: not issued by a public CA, this gateway\'s CA or an imported trusted CA, revoked, or not the pinned fingerprint.', fix: 'Set the peer certificate\'s SHA-256 fingerprint on the site, or import the CA that issued it as trusted (Certificates).', detail: reason };
  }
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(reason)) {
    return { cause: 'no-answer', explanation: 'The peer\'s name does not resolve: it is misspelt, or this gateway\'s DNS servers cannot resolve it.', fix: 'Check the peer name on the site and the DNS servers (Settings); or enter the peer\'s address.', detail: reason };
  }
  if (failedAt === 0) {
    return { cause: 'no-answer', explanation: 'The peer could not be reached on its SSTP port: its address is wrong, it is down, or a firewall blocks TCP 443 on the way.', fix: 'Check the peer address and port and that its SSTP listener is on; open TCP 443 to it.', detail: reason };
  }
  if (failedAt === 1) {
    return { cause: 'other', explanation: 'The peer answered TLS but refused the SSTP call: it is not an SSTP server on that port, or its listener is off.', fix: 'Check that the peer\'s SSTP listener is enabled on that port.', detail: reason };
  }
  return { cause: 'peer-refused', explanation: 'The peer refused this gateway\'s login (the user name or password set on the site is wrong there, or the user is disabled), or the call broke off during PPP.', fix: 'Check the site\'s user name and password against the user on the peer gateway.', detail: reason };
}

export function sstpTestResult(site: string, o: SstpDialObservation): SiteTestResult {
  const passed = SSTP_LEVEL[o.reached];
  const failedAt = passed >= 3 ? undefined : passed;
  const reason = o.closedReason ?? (o.timedOut ? 'no answer within the test\'s time' : 'the call ended');
  const steps: SiteTestStep[] = SSTP_STEPS.map(([id, label], i) => {
    if (i < passed) return { id, label, outcome: 'ok', ...(i === 0 ? { detail: `${o.host}:${o.port}` } : i === 2 && o.address ? { detail: `address ${o.address}${o.alreadyUp ? ' (the call was already up)' : ''}` } : {}) };
    if (i === failedAt) return { id, label, outcome: 'failed', detail: reason };
    return { id, label, outcome: 'not-reached' };
  });
  const problem = failedAt === undefined ? undefined : sstpProblem(reason, failedAt);
  return { site, protocol: 'sstp', available: true, ok: failedAt === undefined, steps, ...(problem ? { problem } : {}), durationMs: o.elapsedMs };
}

/** A protocol whose sites this build cannot dial. */
export const notAvailable = (site: string, protocol: string, reason = 'not available in this build'): SiteTestResult => ({ site, protocol, available: false, reason, ok: false, steps: [], durationMs: 0 });

/** What the Sites page shows besides up/down: the last failure in words and the next try. */
export interface SiteHealth {
  /** `problemId`: its entry on the Connection problems page (the doctor's), `count` the refusals it stands for. */
  readonly lastError?: { readonly time: string; readonly cause: string; readonly explanation: string; readonly fix: string; readonly detail: string; readonly problemId?: number; readonly count?: number };
  /** ISO 8601 time of the next dial while the site is down. */
  readonly nextRetry?: string;
  /** Why the site does not run at all (state 'unavailable'): its protocol is not in this build (issue 25). */
  readonly reason?: string;
  /** A GRE site's own counters (issue 25): packets, drops, keepalives sent, state changes. */
  readonly counters?: Readonly<Record<string, number>>;
}

/**
 * A dialed PPP site's Test (L2TP, PPTP): three steps, the first two the protocol's own and the last PPP;
 * `reached` says how many passed; the failure explained by the protocol's `problem` for its step.
 */
export function pppDialTestResult(
  site: string, protocol: string, host: string,
  steps: readonly (readonly [string, string])[], passed: number,
  o: { readonly address?: string; readonly alreadyUp?: boolean; readonly closedReason?: string; readonly timedOut: boolean; readonly elapsedMs: number },
  problem: (reason: string, failedAt: number) => NonNullable<SiteTestResult['problem']>,
): SiteTestResult {
  const failedAt = passed >= steps.length ? undefined : passed;
  const reason = o.closedReason ?? (o.timedOut ? 'no answer within the test\'s time' : 'the call ended');
  const last = steps.length - 1;
  const out: SiteTestStep[] = steps.map(([id, label], i) => {
    if (i < passed) return { id, label, outcome: 'ok', ...(i === 0 ? { detail: host } : i === last && o.address ? { detail: `address ${o.address}${o.alreadyUp ? ' (the call was already up)' : ''}` } : {}) };
    if (i === failedAt) return { id, label, outcome: 'failed', detail: reason };
    return { id, label, outcome: 'not-reached' };
  });
  const p = failedAt === undefined ? undefined : problem(reason, failedAt);
  return { site, protocol, available: true, ok: failedAt === undefined, steps: out, ...(p ? { problem: p } : {}), durationMs: o.elapsedMs };
}
