/** What the control API needs from the running service: injected, so the API is tested alone. */
import type { AcmeReport } from '../pki/acme/acme-subsystem.ts';
import type { ConfigStore } from '../config/store.ts';
import type { ApplyResult } from '../config/transaction.ts';
import type { PosternConfig } from '../config/types.ts';
import type { LogRecord, Logger } from '../log/logger.ts';
import type { ConnectionProblem, ProblemFilter } from '../doctor/problem-ring.ts';
import type { GatewayPki } from '../pki/pki-store.ts';
import type { InterfaceInfo } from './system-interfaces.ts';
import type { TracerouteResult } from './traceroute.ts';
import type { SiteHealth, SiteTestResult } from '../sites/site-test.ts';
import type { SafeMode } from '../config/safe-mode.ts';
import type { RadiusOverview } from '../radius/radius-overview.ts';
import type { RadiusTestResult } from '../radius/radius-test.ts';
import type { FleetView } from '../fleet/fleet-view.ts';
import type { OnLocalChange } from '../fleet/drift.ts';

export interface ApiSessionInfo {
  readonly id: string;
  readonly protocol: string;
  readonly user: string | undefined;
  readonly address: string | undefined;
  /** A PPP session's IPv6: its own /64 (issue 20), or its /128 from a pool with no /64 to spare. */
  readonly ipv6?: string;
  readonly peer: string;
  readonly since: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Who checked the password (issue 21): the local users, or the RADIUS server that accepted it. */
  readonly auth?: 'local' | 'radius';
  readonly radiusServer?: string;
  /** The Access-Accept's Class, as text when printable, else 0x-hex; several joined by ", ". */
  readonly class?: string;
}

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly output: string;
}

export interface ApiContext {
  readonly store: ConfigStore;
  readonly logger: Logger;
  /** `confirmWithin`: applied in safe mode, reverted unless confirmed within that many seconds (issue 17). */
  apply(next: PosternConfig, meta: { author: string; comment?: string; confirmWithin?: number }): Promise<ApplyResult>;
  /** The fleet state (issue 26): enrollment, applied vs running, variables, the last refusal. */
  fleet?(): FleetView;
  /** The box's own choice on a local change, for when the desired document makes none (drift.ts). */
  setFleetChoice?(choice: OnLocalChange | undefined, author: string): Promise<{ ok: true } | { ok: false; why: string }>;
  /** Safe mode's pending change and last outcome (issue 17); absent where the service has none. */
  safeMode?(): SafeMode;
  status(): Record<string, unknown>;
  sessions(): ApiSessionInfo[];
  disconnect(id: string): boolean;
  /** The gateway's CA and server certificate (made at first boot). */
  pki(): GatewayPki;
  /** The box's network interfaces now. */
  interfaces(): InterfaceInfo[];
  /** Site-to-site tunnels with an IKE SA up, by site name. */
  siteStates(): ReadonlyArray<{ readonly name: string; readonly state: string; readonly rxPackets: number; readonly txPackets: number }>;
  /** A site's Test: dials it now, each step's outcome (issue 17); undefined for no such site. */
  testSite?(name: string): Promise<SiteTestResult | undefined>;
  /** A site's last failure in words and its next dial (issue 17). */
  siteHealth?(name: string): SiteHealth;
  /** The newest log records, oldest first (a bounded ring kept by the service). */
  logs(): readonly LogRecord[];
  /** Failed connection attempts, newest first (the connection doctor, issue 17); none when absent. */
  problems?(filter: ProblemFilter): ConnectionProblem[];
  /** Bounded diagnostics from the gateway itself; the API validates host and count first. */
  ping(host: string, count: number): Promise<PingResult>;
  /** Hop by hop to a host (validated by the API first); absent where the box cannot probe. */
  traceroute?(host: string, maxHops: number): Promise<TracerouteResult>;
  /**
   * Reboot asked for in the UI (confirmed there): the firmware reboots the box; a service run by hand
   * (`make run`) restarts its subsystems in-process. Says which it does; the work starts after the answer.
   */
  reboot?(): { readonly action: 'reboot' | 'restart' };
  /**
   * Factory reset (issue 18), after the route checked the admin password and the typed confirmation:
   * the service stops, empties its state directory and reboots or restarts as a first boot.
   */
  factoryReset?(why: string): void;
  /** The address WAN listeners bind now (firmware/network, issue 18). */
  wanAddress?(): string | undefined;
  /** The interfaces holding the WAN and LAN roles now (firmware/network, issue 18). */
  interfaceRoles?(): { wan: string; lan: string };
  now(): number;
  /** ACME's state (issue 16): the certificate held, the next renewal, the last failure. */
  acme?(): AcmeReport | undefined;
  /** The gateway certificate on disk changed (re-issued, imported): IKEv2 and SSTP take it for new connections. */
  gatewayCertificateChanged?(): void;
  /** The RADIUS page (issue 21): servers' live state and counters, the accounting backlog, DAS clients. */
  radius?(): RadiusOverview;
  /** Status-Server to one configured server, and a PAP login when given; undefined: no such server. */
  testRadius?(name: string, login?: { user: string; password: string }): Promise<RadiusTestResult | undefined>;
  /** Where issued client certificates and the CRL live. */
  readonly stateDir: string;
}
