/** The running service as the control API sees it (api-context.ts): sessions of every protocol, PKI, ping. */
import { execFile } from 'node:child_process';
import { freemem, loadavg, totalmem } from 'node:os';
import { wanAddressNow } from '../network/wan-network.ts';
import type { ApplyResult } from '../config/transaction.ts';
import type { PosternConfig } from '../config/types.ts';
import type { ConfigStore } from '../config/store.ts';
import type { IkeSubsystem } from '../ike/ike-subsystem.ts';
import type { LogRing } from '../log/log-ring.ts';
import type { Logger } from '../log/logger.ts';
import type { ProblemRing } from '../doctor/problem-ring.ts';
import type { CertificateExpiry } from '../pki/expiry.ts';
import { loadOrCreatePki } from '../pki/pki-store.ts';
import type { AcmeReport } from '../pki/acme/acme-subsystem.ts';
import type { SstpSubsystem } from '../sstp/sstp-subsystem.ts';
import type { L2tpSubsystem } from '../l2tp/l2tp-subsystem.ts';
import type { PptpSubsystem } from '../pptp/pptp-subsystem.ts';
import type { ApiContext, ApiSessionInfo, PingResult } from './api-context.ts';
import { readInterfaces } from './system-interfaces.ts';
import { pingProbe, traceroute } from './traceroute.ts';
import type { SiteHealth, SiteTestResult } from '../sites/site-test.ts';
import type { SafeMode } from '../config/safe-mode.ts';
import { radiusOverview, type RadiusListenerView } from '../radius/radius-overview.ts';
import { testRadiusServer } from '../radius/radius-test.ts';
import { radsecClientCertificate } from '../radius/radsec-credentials.ts';
import type { DasSubsystem } from '../radius/das-subsystem.ts';
import type { FleetView } from '../fleet/fleet-view.ts';
import type { OnLocalChange } from '../fleet/drift.ts';

export interface ServiceView {
  readonly store: ConfigStore;
  readonly ike: IkeSubsystem;
  readonly sstp: SstpSubsystem;
  /** L2TP/IPsec sessions (issue 20); absent in views made before it. */
  readonly l2tp?: L2tpSubsystem;
  /** PPTP sessions (issue 22); absent in views made before it. */
  readonly pptp?: PptpSubsystem;
  /** RADIUS dynamic authorization (issue 21). */
  readonly das?: DasSubsystem;
  applyConfig(next: PosternConfig, meta: { author: string; comment?: string; confirmWithin?: number }): Promise<ApplyResult>;
  readonly safeMode?: SafeMode;
  health(): Record<string, unknown>;
  siteStates(): ReadonlyArray<{ readonly name: string; readonly state: string; readonly rxPackets: number; readonly txPackets: number; readonly rxBytes: number; readonly txBytes: number }>;
  /** Certificates in use and their expiry (issue 16). */
  readonly expiry?: { current(): CertificateExpiry[] };
  /** Failed connection attempts (issue 17). */
  readonly problems?: ProblemRing;
  /** The WAN address as firmware/network resolves it (roles from the config and the board, issue 18). */
  wanAddress?(): string | undefined;
  /** And its IPv6 address (issue 24). */
  wanAddress6?(): string | undefined;
  interfaceRoles?(): { wan: string; lan: string };
  factoryReset?(why: string): void;
  /** The gateway certificate on disk changed: the listeners take it up (issue 16). */
  gatewayCertificateChanged?(): void;
  /** ACME (issue 16): the certificate held, the next renewal, the last failure. */
  readonly acme?: { report(): AcmeReport };
  /** Reboot (firmware) or restart (a service run by hand), after the answer went out (issue 17). */
  reboot?(): { readonly action: 'reboot' | 'restart' };
  /** A site's Test and its last failure and next dial (issue 17). */
  testSite?(name: string): Promise<SiteTestResult | undefined>;
  siteHealth?(name: string): SiteHealth;
  /** The fleet state (issue 26), and the box's own choice on a local change. */
  fleetView?(): FleetView;
  readonly fleet?: { setLocalChoice(choice: OnLocalChange | undefined, author: string): Promise<{ ok: true } | { ok: false; why: string }> };
}

export function serviceApiContext(service: ServiceView, options: { stateDir: string; logger: Logger; logs: LogRing; clock: () => number }): ApiContext {
  return {
    store: service.store,
    logger: options.logger,
    stateDir: options.stateDir,
    apply: (next, meta) => service.applyConfig(next, meta),
    status: () => {
      const list = sessions(service);
      return {
        ...service.health(),
        sessions: countBy(list),
        wanAddress: service.wanAddress ? service.wanAddress() : wanAddressNow(service.store.current().config),
        ...(service.wanAddress6?.() ? { wanAddress6: service.wanAddress6() } : {}),
        system: { load: loadavg(), memoryTotal: totalmem(), memoryFree: freemem() },
        // Bytes through every session (PPP frames, ESP SAs), for the throughput chart.
        traffic: { bytes: list.reduce((a, s) => a + s.bytesIn + s.bytesOut, 0), bytesIn: list.reduce((a, s) => a + s.bytesIn, 0), bytesOut: list.reduce((a, s) => a + s.bytesOut, 0) },
        // The dashboard warns while any of them has 30 days or less (`warning`).
        ...(service.expiry ? { certificates: service.expiry.current() } : {}),
      };
    },
    sessions: () => sessions(service),
    disconnect: (id) => {
      if (id.startsWith('ikev2-')) return service.ike.disconnect(id);
      const l2tp = /^l2tp-(\d+)$/.exec(id);
      if (l2tp) return service.l2tp?.disconnect(Number(l2tp[1])) ?? false;
      const pptp = /^pptp-(\d+)$/.exec(id);
      if (pptp) return service.pptp?.disconnect(Number(pptp[1])) ?? false;
      const m = /^sstp-(\d+)$/.exec(id);
      return m ? service.sstp.disconnect(Number(m[1])) : false;
    },
    pki: () => loadOrCreatePki(options.stateDir, service.store.current().config.certificates, options.logger.child('pki')),
    logs: () => options.logs.records(),
    problems: (filter) => service.problems?.list(filter) ?? [],
    interfaces: () => readInterfaces(),
    siteStates: () => service.siteStates(),
    ...(service.safeMode ? { safeMode: () => service.safeMode! } : {}),
    ...(service.fleetView ? { fleet: () => service.fleetView!() } : {}),
    ...(service.fleet ? { setFleetChoice: (choice, author) => service.fleet!.setLocalChoice(choice, author) } : {}),
    ...(service.testSite ? { testSite: (name: string) => service.testSite!(name) } : {}),
    ...(service.siteHealth ? { siteHealth: (name: string) => service.siteHealth!(name) } : {}),
    ping: (host, count) => ping(host, count),
    traceroute: (host, maxHops) => traceroute(host, maxHops, pingProbe(host)),
    ...(service.reboot ? { reboot: () => service.reboot!() } : {}),
    ...(service.factoryReset ? { factoryReset: (why: string) => service.factoryReset!(why) } : {}),
    ...(service.wanAddress ? { wanAddress: () => service.wanAddress!() } : {}),
    ...(service.interfaceRoles ? { interfaceRoles: () => service.interfaceRoles!() } : {}),
    now: options.clock,
    gatewayCertificateChanged: () => service.gatewayCertificateChanged?.(),
    // Read when asked: the service makes its ACME subsystem after this context.
    acme: () => service.acme?.report(),
    radius: () => radiusOverview(service.store.current().config, radiusListenersOf(service), service.das?.status()),
    testRadius: (name, login) => {
      const config = service.store.current().config;
      return testRadiusServer(config, name, login, () => radsecClientCertificate(options.stateDir, config, options.logger.child('radius')));
    },
  };
}

/** Every running listener that asks RADIUS, with its client and accounting backlog. */
export function radiusListenersOf(service: ServiceView): RadiusListenerView[] {
  const all = [['ikev2', service.ike.radiusListener()], ['sstp', service.sstp.radiusListener()], ['l2tp', service.l2tp?.radiusListener()], ['pptp', service.pptp?.radiusListener()]] as const;
  return all.flatMap(([listener, r]) => (r ? [{ listener, client: r.client, backlog: r.spool.size }] : []));
}

/** Where a session was authenticated and its Class (issue 21), for the sessions list. */
function authOf(s: { readonly radiusServer?: string; readonly class?: readonly Uint8Array[] }): Pick<ApiSessionInfo, 'auth' | 'radiusServer' | 'class'> {
  const text = (c: Uint8Array) => (c.every((b) => b >= 0x20 && b < 0x7f) ? Buffer.from(c).toString('latin1') : `0x${Buffer.from(c).toString('hex')}`);
  return { auth: s.radiusServer !== undefined ? 'radius' : 'local', ...(s.radiusServer !== undefined ? { radiusServer: s.radiusServer } : {}), ...(s.class?.length ? { class: s.class.map(text).join(', ') } : {}) };
}

/** The /64 a PPP session owns, else its /128 (issue 20). */
const pppIpv6 = (s: { readonly ipv6: string | undefined; readonly ipv6Prefix?: string }): Pick<ApiSessionInfo, 'ipv6'> => {
  const ipv6 = s.ipv6Prefix ?? s.ipv6;
  return ipv6 !== undefined ? { ipv6 } : {};
};

function sessions(service: ServiceView): ApiSessionInfo[] {
  const ike = service.ike.sessions().map((s) => ({ id: s.id, protocol: 'ikev2', user: s.user, address: s.address, peer: s.peer, since: s.since, bytesIn: s.bytesIn, bytesOut: s.bytesOut, packetsIn: s.packetsIn, packetsOut: s.packetsOut, ...authOf(s) }));
  const sstp = service.sstp.sessions().map((s) => ({ id: `sstp-${s.id}`, protocol: 'sstp', user: s.user, address: s.ipv4, ...pppIpv6(s), peer: s.peer, since: s.since, bytesIn: s.bytesIn, bytesOut: s.bytesOut, ...authOf(s) }));
  const l2tp = (service.l2tp?.sessions() ?? []).map((s) => ({ id: `l2tp-${s.id}`, protocol: 'l2tp', user: s.user, address: s.ipv4, ...pppIpv6(s), peer: s.peer, since: s.since, bytesIn: s.bytesIn, bytesOut: s.bytesOut, ...authOf(s) }));
  const pptp = (service.pptp?.sessions() ?? []).map((s) => ({ id: `pptp-${s.id}`, protocol: 'pptp', user: s.user, address: s.ipv4, ...pppIpv6(s), peer: s.peer, since: s.since, bytesIn: s.bytesIn, bytesOut: s.bytesOut, ...authOf(s) }));
  return [...ike, ...sstp, ...l2tp, ...pptp];
}

const countBy = (list: readonly ApiSessionInfo[]) => list.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.protocol]: (acc[s.protocol] ?? 0) + 1 }), {});

/** iputils ping, bounded in count and time; the API checked host and count already. */
function ping(host: string, count: number): Promise<PingResult> {
  return new Promise((resolve) => {
    execFile('ping', ['-c', String(count), '-W', '2', '-i', '0.5', '--', host], { timeout: 15_000 }, (_error, stdout, stderr) => {
      const received = Number(/(\d+) (?:packets )?received/.exec(stdout)?.[1] ?? 0);
      resolve({ sent: count, received, output: `${stdout}${stderr}`.slice(0, 4000) });
    });
  });
}
