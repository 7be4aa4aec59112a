/**
 * The box's fleet state as the web UI's Fleet page and /healthz show it (issue 26): enrollment, the
 * desired revision applied against the running one (drift, and who decides on a local change),
 * the variables in use, the last refused desired document and why. Pure: what the service and the
 * fleet agent know in, a view out. /healthz gets a summary without values (`healthSummary`).
 */
import { X509Certificate } from 'node:crypto';
import type { BoardFleet } from '../board/types.ts';
import type { TelemetryConfig } from '../config/types.ts';
import type { OnLocalChange, PolicySource } from './drift.ts';
import { enrollsByToken } from './enrollment.ts';
import { describeDiscovery } from './broker-discovery.ts';
import type { AppliedState, Drift, LastOutcome } from './reported.ts';
import type { VariableShown } from './variable-visibility.ts';
import type { RenewalStatus } from './cert-renewer.ts';

export type EnrollmentState = 'not-configured' | 'enrolling' | 'enrolled' | 'off';

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
  readonly daysLeft: number;
}

export interface EnrollmentView {
  readonly state: EnrollmentState;
  /** How the box got (or gets) its identity: the factory's certificate, a one-time token, or settings made by hand. */
  readonly method?: 'factory-certificate' | 'token' | 'settings';
  readonly serial?: string;
  /** The broker URL, or the DNS SRV name it is looked up under. */
  readonly broker?: string;
  readonly certificate?: CertificateSummary;
  /** The console's last refusal of this box's token enrollment. */
  readonly refusal?: { readonly code: string; readonly reason: string };
  readonly why?: string;
  /** Renewal of a certificate token enrollment gave (cert-renewer.ts). */
  readonly renewal?: RenewalStatus;
}

/** What the fleet agent knows (FleetAgent.state()). */
export interface AgentState {
  readonly applied?: AppliedState | undefined;
  readonly last?: LastOutcome | undefined;
  readonly lastRefused?: LastOutcome | undefined;
  readonly drift?: Drift | undefined;
  readonly onLocalChange: { readonly value: OnLocalChange; readonly source: PolicySource };
  readonly variables?: { readonly sequence: number; readonly acceptedAt: string; readonly shown: readonly VariableShown[] } | undefined;
}

export interface FleetView extends AgentState {
  readonly enrollment: EnrollmentView;
  readonly configRevision: number;
}

/** The certificate's dates and names; undefined for text that is not one. */
export function certificateSummary(pem: string | undefined, now: number): CertificateSummary | undefined {
  if (!pem) return undefined;
  try {
    const x = new X509Certificate(pem);
    const notAfter = Date.parse(x.validTo);
    return { subject: x.subject.replace(/\n/g, ', '), issuer: x.issuer.replace(/\n/g, ', '), notAfter: new Date(notAfter).toISOString(), daysLeft: Math.floor((notAfter - now) / 86_400_000) };
  } catch {
    return undefined;
  }
}

export function enrollmentView(input: {
  readonly board: BoardFleet | undefined;
  readonly mqtt: TelemetryConfig['mqtt'];
  /** The client certificate's PEM the telemetry uses (the board's, the enrolled one, or an issued one). */
  readonly certificatePem: string | undefined;
  readonly refusal?: { readonly code: string; readonly reason: string } | undefined;
  /** A token being exchanged, or the switch to its certificate waiting for the broker. */
  readonly enrolling: boolean;
  readonly now: number;
}): EnrollmentView {
  const { board, mqtt } = input;
  const on = mqtt.enabled && mqtt.fleet?.enabled === true;
  if (!board && !mqtt.fleet) return { state: 'not-configured' };
  const method = board ? (enrollsByToken(board) ? 'token' : 'factory-certificate') : 'settings';
  const broker = mqtt.discovery ? (mqtt.discovery.dhcpLease ? `found ${describeDiscovery(mqtt.discovery)}` : `_secure-mqtt._tcp.${mqtt.discovery.domain ?? ''} (DNS SRV)`) : mqtt.url;
  const certificate = certificateSummary(input.certificatePem, input.now);
  const common = { method, serial: mqtt.deviceId, broker, ...(certificate ? { certificate } : {}) } as const;
  // A token box is enrolling until the token is exchanged and the switch to the certificate confirmed.
  if (input.enrolling) return { state: 'enrolling', ...common, ...(input.refusal ? { refusal: input.refusal } : {}) };
  if (on) return { state: 'enrolled', ...common };
  return { state: 'off', ...common, why: mqtt.enabled ? 'fleet configuration is turned off on this box' : 'the telemetry is turned off on this box' };
}

/** For /healthz (no login): states, revisions, names; never a variable's value nor a refusal's field errors. */
export function healthSummary(view: FleetView): Record<string, unknown> {
  const e = view.enrollment;
  return {
    enrollment: {
      // /healthz answers without a login: the broker and the variables' names stay on the Fleet page.
      state: e.state, ...(e.serial ? { serial: e.serial } : {}), ...(e.certificate ? { certificateNotAfter: e.certificate.notAfter } : {}),
      ...(e.renewal ? { renewal: { dueAt: e.renewal.dueAt, failures: e.renewal.failures, ...(e.renewal.lastFailure ? { lastFailure: e.renewal.lastFailure.code } : {}) } } : {}),
    },
    ...(view.applied ? { applied: { revision: view.applied.revision, sequence: view.applied.sequence, configRevision: view.applied.configRevision, confirmed: view.applied.confirmed } } : {}),
    configRevision: view.configRevision,
    ...(view.drift ? { drift: { configRevision: view.drift.configRevision, sections: view.drift.sections } } : {}),
    onLocalChange: view.onLocalChange,
    ...(view.variables ? { variables: { sequence: view.variables.sequence } } : {}),
    ...(view.lastRefused ? { lastRefused: { outcome: view.lastRefused.outcome, code: view.lastRefused.code, revision: view.lastRefused.revision, at: view.lastRefused.at } } : {}),
  };
}
