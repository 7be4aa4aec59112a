import { mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { buildInfo } from './build-info.ts';
import { ConfigStore } from './config/store.ts';
import { applyConfig } from './config/transaction.ts';
import type { PosternConfig } from './config/types.ts';
import { validateConfig } from './config/validate.ts';
import type { Logger } from './log/logger.ts';
import { Supervisor } from './supervisor/supervisor.ts';
import type { SubsystemSpec } from './supervisor/subsystem.ts';
import type { IkeAction } from './ike/engine/types.ts';
import { classify, type DoctorEvent } from './doctor/classify.ts';
import { ProblemRing } from './doctor/problem-ring.ts';
import { AccessResources } from './access/access-resources.ts';
import { radiusListenersOf, serviceApiContext } from './control/service-api-context.ts';
import { radiusOverview } from './radius/radius-overview.ts';
import { RadiusStateEvents } from './radius/radius-state-events.ts';
import { nasPower } from './radius/nas-power.ts';
import { ControlApi } from './control/control-api.ts';
import { LogRing } from './log/log-ring.ts';
import { loadOrCreatePki } from './pki/pki-store.ts';
import { PublicationSubsystem, publicationSpec } from './pki/publication-subsystem.ts';
import { ExpiryWatch } from './pki/expiry-watch.ts';
import { AcmeChallenges } from './pki/acme/acme-challenges.ts';
import { AcmeSubsystem, acmeSpec } from './pki/acme/acme-subsystem.ts';
import { DdnsSubsystem, ddnsSpec } from './ddns/ddns-subsystem.ts';
import { DasSubsystem, dasSpec } from './radius/das-subsystem.ts';
import { ownedSystemRoot, TimeSubsystem, timeSpec } from './system/time-apply.ts';
import { IkeSubsystem, ikeSpec } from './ike/ike-subsystem.ts';
import { SstpSubsystem, sstpSpec } from './sstp/sstp-subsystem.ts';
import { SstpSiteSubsystem, sstpSiteSpec } from './sstp/sstp-site-subsystem.ts';
import { GreSiteSubsystem, greSiteSpec } from './gre/gre-site-subsystem.ts';
import { L2tpSubsystem, l2tpSpec } from './l2tp/l2tp-subsystem.ts';
import { L2tpSiteSubsystem, l2tpSiteSpec } from './l2tp/l2tp-site-subsystem.ts';
import { IkeEventMapper } from './telemetry/ike-events.ts';
import { PptpSubsystem, pptpSpec } from './pptp/pptp-subsystem.ts';
import { PptpSiteSubsystem, pptpSiteSpec } from './pptp/pptp-site-subsystem.ts';
import { systemStatusSource } from './telemetry/system-status.ts';
import { TelemetrySubsystem, telemetrySpec } from './telemetry/telemetry-subsystem.ts';
import { WebSubsystem, type ManagementAddress } from './web/web-subsystem.ts';
import { fetchAndApply } from './upgrade/bundle-fetch.ts';
import { BoardRuntime } from './board/board-runtime.ts';
import { selectBoard, type SelectedBoard } from './board/select.ts';
import { defaultConfig } from './config/defaults.ts';
import { presetInterfaces, type InterfaceSnapshot } from './network/interface-roles.ts';
import { followWanChange } from './network/wan-follow.ts';
import { WanNetwork } from './network/wan-network.ts';
import { wipeStateDir } from './system/factory-reset.ts';
import { notAvailable, type SiteHealth, type SiteTestResult } from './sites/site-test.ts';
import { listenerAvailability, siteUnavailableReason } from './sites/availability.ts';
import { createSafeMode, revertLeftPending } from './config/safe-mode-wiring.ts';
import type { SafeMode } from './config/safe-mode.ts';
import { FleetAgent } from './fleet/fleet-agent.ts';
import { announceMessage, BOARD_CERTIFICATE, boardCertificate, boxSerial, devicePublicKey, presetFleet, wanMac } from './fleet/enrollment.ts';
import { deviceCertificate } from './fleet/enrolled-files.ts';
import { TokenEnrollmentWiring } from './fleet/token-enrollment-wiring.ts';
import { enrollmentView, healthSummary, type FleetView } from './fleet/fleet-view.ts';
import { CertRenewer } from './fleet/cert-renewer.ts';
import { keyIdOf, parsePublicKey } from './fleet/envelope.ts';
import { combineExtensions } from './telemetry/combine-extensions.ts';
import { readFileSync } from 'node:fs';

export interface ServiceOptions {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly management?: ManagementAddress;
  readonly clock?: () => number;
  /** Start only these subsystems (tests and development); all when absent. */
  readonly only?: readonly string[];
  /** The newest log records, for the API's log view. */
  readonly logs?: LogRing;
  /** The box's network interface names (WAN/LAN names it lacks are warned about); node:os when absent. */
  readonly interfaces?: () => readonly string[];
  /** Reboot from the API (issue 17): `postern run` reboots on firmware and restarts the service elsewhere. */
  readonly reboot?: () => { readonly action: 'reboot' | 'restart' };
  /** The board profile (issue 18): interface roles preset, LEDs, watchdog, reset button; generic-<arch> when absent. */
  readonly board?: SelectedBoard;
  /** The box's interfaces and default route for the WAN watcher (tests); node:os when absent. */
  readonly box?: () => InterfaceSnapshot;
  /** How often the WAN's addresses are looked at (3 s by default). */
  readonly wanPollMs?: number;
  /** Kept by a factory reset though inside the state directory (the runtime directory of the loaded driver). */
  readonly keepOnFactoryReset?: readonly string[];
}

/** The running gateway: the configuration store, and the supervisor that makes the config true. */
export class Service {
  readonly store: ConfigStore;
  readonly supervisor: Supervisor;
  readonly web: WebSubsystem;
  readonly telemetry: TelemetrySubsystem;
  readonly access: AccessResources;
  readonly sstpSites: SstpSiteSubsystem;
  /** GRE site-to-site tunnels, one gre-<site> interface each (issue 25). */
  readonly greSites: GreSiteSubsystem;
  readonly sstp: SstpSubsystem;
  /** L2TP/IPsec remote access, as LNS (issue 20). */
  readonly l2tp: L2tpSubsystem;
  readonly l2tpSites: L2tpSiteSubsystem;
  /** PPTP remote access (issue 22; legacy, off by default, flagged insecure). */
  readonly pptp: PptpSubsystem;
  /** PPTP sites this gateway dials (issue 22; flagged insecure). */
  readonly pptpSites: PptpSiteSubsystem;
  readonly ike: IkeSubsystem;
  readonly publication: PublicationSubsystem;
  readonly expiry: ExpiryWatch;
  readonly acme: AcmeSubsystem;
  /** Dynamic DNS (issue 17): the public name follows the WAN address. */
  readonly ddns: DdnsSubsystem;
  /** RADIUS Disconnect/CoA (RFC 5176, issue 21) over every protocol's sessions. */
  readonly das: DasSubsystem;
  /** The time zone and NTP servers applied to the system where Postern owns it (issue 17). */
  readonly time: TimeSubsystem;
  readonly api: ControlApi;
  /** The board profile in use, and its LEDs, watchdog and reset button (issue 18). */
  readonly board: SelectedBoard;
  readonly hardware: BoardRuntime;
  /** The WAN's role and addresses, watched: what every listener binds (issue 18). */
  readonly network: WanNetwork;
  readonly #options: ServiceOptions;
  #resetting = false;
  #wanWork: Promise<unknown> = Promise.resolve();
  /** Failed connection attempts, explained (the connection doctor, issue 17). */
  readonly problems = new ProblemRing();
  /** Changes applied with "confirm within N s or revert" (issue 17). */
  readonly safeMode: SafeMode;
  /** Signed desired configuration from the fleet console over MQTT (issue 26). */
  readonly fleet: FleetAgent;
  /** A fresh box exchanging its one-time token for a certificate (issue 26). */
  readonly tokenEnrollment: TokenEnrollmentWiring;
  /** Renewal of the certificate token enrollment gave (issue 26). */
  readonly renewer: CertRenewer;
  #renewTimer: NodeJS.Timeout | undefined;
  readonly #log: Logger;
  readonly #startedAt: number;
  readonly #clock: () => number;
  readonly #interfaces: () => readonly string[];
  #radiusWatch: NodeJS.Timeout | undefined;

  private constructor(store: ConfigStore, options: ServiceOptions) {
    this.store = store;
    this.#log = options.logger;
    this.#interfaces = options.interfaces ?? (() => Object.keys(networkInterfaces()));
    if (options.reboot) this.reboot = options.reboot;
    this.#clock = options.clock ?? Date.now;
    this.#options = options;
    this.board = options.board ?? selectBoard(undefined);
    this.network = new WanNetwork({
      config: () => this.store.current().config, board: this.board.board, logger: options.logger.child('network'),
      onChange: (change, current) => void (this.#wanWork = this.#wanWork.then(() => this.#followWan(change, current))),
      ...(options.box ? { box: options.box } : {}), ...(options.wanPollMs ? { intervalMs: options.wanPollMs } : {}),
    });
    this.hardware = new BoardRuntime({
      selected: this.board, logger: options.logger.child('board'),
      ledInputs: () => this.#ledInputs(), healthy: () => this.#healthy(),
      onResetButton: () => this.factoryReset('reset button'),
    });
    this.#startedAt = this.#clock();
    this.safeMode = createSafeMode({
      store, stateDir: options.stateDir, logger: options.logger.child('config'), clock: this.#clock,
      apply: (next, meta) => this.applyConfig(next, meta),
      onOutcome: (o) => {
        this.telemetry.event('safe-mode', { outcome: o.kind, revision: o.change.revision, previousRevision: o.change.previousRevision, ...(o.revision !== undefined ? { newRevision: o.revision } : {}) });
        this.fleet.safeModeOutcome(o.kind, o.change.revision, o.revision, o.error);
        this.tokenEnrollment.safeModeOutcome(o.kind, o.change.revision);
      },
    });
    this.fleet = new FleetAgent({
      stateDir: options.stateDir, logger: options.logger.child('fleet'), clock: this.#clock,
      current: () => this.store.current(), configAt: (revision) => this.store.get(revision), apply: (next, meta) => this.applyConfig(next, meta),
      safeModePending: () => this.safeMode.pending?.revision, confirmSafeMode: () => this.safeMode.confirm(),
      reconnect: () => this.telemetry.telemetry?.reconnect(),
      connected: () => this.tokenEnrollment.telemetryConnected(),
      announce: (serial) => {
        const mac = wanMac(this.board.board, this.store.current().config.system.wan.interface);
        return announceMessage({ serial, board: this.board.board.name, ...(mac ? { mac } : {}), firmwareVersion: buildInfo.version, publicKey: devicePublicKey(options.stateDir) }, this.#clock());
      },
    });
    this.tokenEnrollment = new TokenEnrollmentWiring({
      fleet: this.board.board.fleet, stateDir: options.stateDir, logger: options.logger.child('fleet'), clock: this.#clock,
      current: () => this.store.current(), apply: (next, meta) => this.applyConfig(next, meta),
      safeModePending: () => this.safeMode.pending?.revision, confirmSafeMode: () => this.safeMode.confirm(),
    });
    this.renewer = new CertRenewer({
      stateDir: options.stateDir, logger: options.logger.child('fleet'), clock: this.#clock,
      keys: () => (this.store.current().config.telemetry.mqtt.fleet?.operatorKeys ?? []).flatMap((k) => {
        const parsed = parsePublicKey(k);
        return parsed.ok ? [{ id: keyIdOf(parsed.value), key: parsed.value }] : [];
      }),
      restartTelemetry: () => this.telemetry.restart(),
      confirmMs: () => (this.store.current().config.telemetry.mqtt.fleet?.confirmSeconds ?? 120) * 1000,
      factory: () => boardCertificate(this.board.board.fleet),
    });
    this.api = new ControlApi(serviceApiContext(this, { stateDir: options.stateDir, logger: options.logger.child('api'), logs: options.logs ?? new LogRing(), clock: this.#clock }));
    this.web = new WebSubsystem({
      logger: options.logger.child('web'),
      health: () => this.health(),
      api: this.api,
      tls: () => {
        const pki = loadOrCreatePki(options.stateDir, this.store.current().config.certificates, options.logger.child('pki'));
        // An ACME or imported certificate carries its own chain; Postern's CA is appended for its own.
        const publicCa = pki.server.acme === true || pki.server.imported === true;
        return { cert: publicCa ? pki.server.certificatePem : `${pki.server.certificatePem}\n${pki.ca.certificatePem}`, key: pki.server.keyPem.reveal(), publicCa };
      },
      ...(options.management ? { override: options.management } : {}),
    });
    this.access = new AccessResources(store.current().config, options.logger.child('access'));
    this.telemetry = new TelemetrySubsystem({
      logger: options.logger.child('telemetry'),
      revision: () => this.store.current().revision,
      // The device certificate (enrolled, or the factory's until renewed) is renewed on the same connection.
      extension: (settings) => combineExtensions(this.fleet.extension(settings), this.board.board.fleet ? this.renewer.extension(settings) : undefined),
      // The per-device certificate: the one enrollment or a renewal gave, else the factory's (issue 26).
      certificate: (name) => (name === BOARD_CERTIFICATE ? deviceCertificate(options.stateDir, this.board.board.fleet) : undefined),
      ca: () => (this.board.board.fleet?.ca ? readFileSync(this.board.board.fleet.ca, 'utf8') : undefined),
      statusSource: systemStatusSource({
        clock: this.#clock, sessions: () => this.#sessionCounts(), tunnels: () => this.#siteTunnels(), counters: () => this.#counters(),
        certificates: () => this.expiry.current().map(({ role, subject, notAfter, daysLeft, warning }) => ({ role, subject, notAfter, daysLeft, warning })),
        wan: () => ({ ...this.network.describe().wan }), board: () => this.board.board.name,
        radius: () => this.#radiusStatus(),
      }),
      commands: {
        // The fleet console may end a session by the id the API and the status report use.
        'disconnect-session': async (args) => {
          const id = typeof args === 'object' && args !== null ? (args as { id?: unknown }).id : undefined;
          if (typeof id !== 'string' || !this.#disconnect(id)) throw new Error(`no session '${String(id)}'`);
        },
        // A signed bundle from a URL the console names (issue 18): only with telemetry.mqtt.upgradeCommand on.
        'fetch-upgrade': async (args) => {
          const upgrades = this.api.upgrades;
          if (this.store.current().config.telemetry.mqtt.upgradeCommand !== true) throw new Error('fetch-upgrade is off (telemetry.mqtt.upgradeCommand)');
          if (!upgrades) throw new Error('this box cannot take upgrades now');
          await fetchAndApply(upgrades, args, this.store.current().revision);
        },
      },
    });
    const challenges = new AcmeChallenges();
    this.sstp = new SstpSubsystem({
      logger: options.logger.child('sstp'), stateDir: options.stateDir, access: this.access, wanAddress: (c) => this.network.addressFor(c), wanAddress6: (c) => this.network.address6For(c),
      acmeAlpn: (name) => challenges.alpnCertificate(name),
      onSession: (event, info) => this.telemetry.event(event === 'up' ? 'session-up' : 'session-down', { protocol: 'sstp', user: info.user, ...(info.ipv4 ? { address: info.ipv4 } : {}) }),
      onAuthFailure: (user, peer) => {
        this.telemetry.event('auth-failure', { protocol: 'sstp', user, peer });
        this.#problem({ kind: 'ppp-auth-failure', protocol: 'sstp', user, peer });
      },
      onSetupFailure: (failure, peer) => this.#problem({ kind: 'ppp-setup-failure', protocol: 'sstp', ...failure, peer }),
      onClosedAfterTls: (peer) => this.#problem({ kind: 'sstp-closed-after-tls', peer }),
      onCallFailed: (peer, reason) => this.#problem({ kind: 'sstp-call-failed', reason, peer }),
    });
    this.l2tp = new L2tpSubsystem({
      logger: options.logger.child('l2tp'), access: this.access, stateDir: options.stateDir, wanAddress: (c) => this.network.addressFor(c), wanAddress6: (c) => this.network.address6For(c),
      // L2TP inside its clients' transport SAs, each datagram tagged with its SA (issue 20).
      ipsec: { receive: (handler) => this.ike.l2tpPath.receive(handler), send: (via, from, to, payload) => this.ike.l2tpPath.send(via, from, to, payload), pppData: (via, spec) => this.ike.l2tpPath.pppData?.(via, spec), gone: (handler) => this.ike.l2tpPath.gone?.(handler) },
      onSession: (event, info) => this.telemetry.event(event === 'up' ? 'session-up' : 'session-down', { protocol: 'l2tp', user: info.user, ...(info.ipv4 ? { address: info.ipv4 } : {}) }),
      onAuthFailure: (user, peer) => {
        this.telemetry.event('auth-failure', { protocol: 'l2tp', user, peer });
        this.#problem({ kind: 'ppp-auth-failure', protocol: 'l2tp', user, peer });
      },
      onSetupFailure: (failure, peer) => this.#problem({ kind: 'ppp-setup-failure', protocol: 'l2tp', ...failure, peer }),
      onTunnelFailure: (address, reason) => this.#problem({ kind: 'l2tp-tunnel-failure', reason, address }),
    });
    this.pptp = new PptpSubsystem({
      logger: options.logger.child('pptp'), access: this.access, stateDir: options.stateDir, wanAddress: (c) => this.network.addressFor(c),
      onSession: (event, info) => this.telemetry.event(event === 'up' ? 'session-up' : 'session-down', { protocol: 'pptp', user: info.user, ...(info.ipv4 ? { address: info.ipv4 } : {}) }),
      onAuthFailure: (user, peer) => {
        this.telemetry.event('auth-failure', { protocol: 'pptp', user, peer });
        this.#problem({ kind: 'ppp-auth-failure', protocol: 'pptp', user, peer });
      },
      onSetupFailure: (failure, peer) => this.#problem({ kind: 'ppp-setup-failure', protocol: 'pptp', ...failure, peer }),
    });
    // A dialed PPP site's call up or down reaches the fleet console as GRE's and IKE's tunnels do.
    const pppSiteEvent = (protocol: 'sstp' | 'l2tp' | 'pptp') => (site: string, state: 'up' | 'down', why: string) => this.telemetry.event(state === 'up' ? 'tunnel-up' : 'tunnel-down', { protocol, site, ...(state === 'down' ? { reason: why } : {}) });
    this.l2tpSites = new L2tpSiteSubsystem({
      logger: options.logger.child('l2tp-sites'), access: this.access, wanAddress: (c) => this.network.addressFor(c), wanAddress6: (c) => this.network.address6For(c),
      ipsec: { protectedPeer: (address) => this.ike.l2tpProtected(address), dial: (site) => this.ike.dialL2tpSite(site), pppData: (site, spec) => this.ike.l2tpSitePppData(site, spec) },
      onStateChange: pppSiteEvent('l2tp'),
    });
    this.pptpSites = new PptpSiteSubsystem({ logger: options.logger.child('pptp-sites'), access: this.access, onStateChange: pppSiteEvent('pptp') });
    this.sstpSites = new SstpSiteSubsystem({ logger: options.logger.child('sstp-sites'), stateDir: options.stateDir, access: this.access, onStateChange: pppSiteEvent('sstp') });
    this.greSites = new GreSiteSubsystem({
      logger: options.logger.child('gre-sites'), wanAddress: (c) => this.network.addressFor(c), ipsecUp: (site) => this.ike.greProtected(site), ipsecPath: (site) => this.ike.greIpsecPath(site),
      onStateChange: (site, state, why) => this.telemetry.event(state === 'up' ? 'tunnel-up' : 'tunnel-down', { protocol: 'gre', site, ...(state === 'down' ? { reason: why } : {}) }),
    });
    this.ike = new IkeSubsystem({ logger: options.logger.child('ike'), stateDir: options.stateDir, access: this.access, wanAddress: (c) => this.network.addressFor(c), wanAddress6: (c) => this.network.address6For(c), onEvent: (a) => this.#ikeEvent(a), onLog: (a) => this.#problem({ kind: 'ike-log', level: a.level, msg: a.msg, ...(a.fields ? { fields: a.fields } : {}) }) });
    // The CRL and CA certificate over plain HTTP on the WAN, where clients check revocation (issue 16).
    this.publication = new PublicationSubsystem({
      logger: options.logger.child('publication'), stateDir: options.stateDir, clock: this.#clock,
      acmeChallenge: (path) => challenges.answer(path),
      ca: (config) => loadOrCreatePki(options.stateDir, config.certificates, options.logger.child('pki')).ca,
    });
    this.expiry = new ExpiryWatch({
      stateDir: options.stateDir, logger: options.logger.child('pki'), clock: this.#clock,
      pki: () => loadOrCreatePki(options.stateDir, this.store.current().config.certificates, options.logger.child('pki')),
      onExpiring: (e) => this.telemetry.event('certificate-expiring', { role: e.role, subject: e.subject, notAfter: e.notAfter, daysLeft: e.daysLeft }),
    });
    // A public gateway certificate by ACME (issue 16); SSTP and IKEv2 take each new one without dropping sessions.
    this.ddns = new DdnsSubsystem({ logger: options.logger.child('ddns'), wanAddresses: () => this.network.addresses().ipv4 });
    this.das = new DasSubsystem({
      logger: options.logger.child('radius-das'),
      sessions: () => [...this.ike.radiusSessions(), ...this.sstp.radiusSessions(), ...this.l2tp.radiusSessions(), ...this.pptp.radiusSessions()],
      nasAddresses: () => [this.store.current().config.system.lan.address.split('/')[0]!, ...this.network.addresses().ipv4],
    });
    this.time = new TimeSubsystem({ logger: options.logger.child('time'), root: ownedSystemRoot(this.board, options.stateDir) });
    this.acme = new AcmeSubsystem({
      logger: options.logger.child('acme'), stateDir: options.stateDir, challenges, clock: this.#clock,
      onCertificate: () => this.gatewayCertificateChanged(),
      onFailure: (e) => this.telemetry.event('certificate-renewal-failed', e),
    });
    const specs: SubsystemSpec[] = [
      // The names the web UI answers to (Host allow-list) are part of its slice, not only the address.
      { name: 'web', wanted: () => true, slice: (c) => ({ management: c.system.management, hostname: c.system.hostname, sans: c.certificates.server.sans }), create: () => this.web },
      ikeSpec(() => this.ike),
      sstpSpec(() => this.sstp),
      sstpSiteSpec(() => this.sstpSites),
      greSiteSpec(() => this.greSites),
      l2tpSpec(() => this.l2tp),
      l2tpSiteSpec(() => this.l2tpSites),
      pptpSpec(() => this.pptp),
      pptpSiteSpec(() => this.pptpSites),
      telemetrySpec(this.telemetry),
      publicationSpec(() => this.publication),
      acmeSpec(() => this.acme),
      ddnsSpec(() => this.ddns),
      dasSpec(() => this.das),
      timeSpec(() => this.time),
    ];
    const only = options.only;
    this.supervisor = new Supervisor(only ? specs.filter((s) => only.includes(s.name)) : specs, options.logger.child('supervisor'));
  }

  static async start(options: ServiceOptions): Promise<Service> {
    const stateDir = resolve(options.stateDir);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const board = options.board ?? selectBoard(undefined);
    // A fresh box's first configuration names the board's WAN and LAN ports (issue 18); on the
    // firmware the management answers on the LAN address, where the technician's laptop is.
    const firmware = ownedSystemRoot(board, stateDir) !== undefined;
    // A board set up for enrollment (issue 26) points the first configuration at its fleet broker.
    const first = () => {
      const config = presetInterfaces(defaultConfig(), board.board, { managementOnLan: firmware });
      const fleet = board.board.fleet;
      return fleet ? presetFleet(config, fleet, boxSerial(fleet, wanMac(board.board, config.system.wan.interface))) : config;
    };
    const store = await ConfigStore.open(join(stateDir, 'config'), { logger: options.logger.child('config'), initial: first });
    await revertLeftPending(store, stateDir, options.logger.child('config'));
    const service = new Service(store, { ...options, stateDir, board });
    const { config, revision } = store.current();
    service.#log.info('starting', { version: buildInfo.version, stateDir, configRevision: revision });
    service.#warnAbout(config);
    await service.supervisor.start(config);
    service.expiry.start();
    service.network.start();
    service.hardware.start();
    service.#watchRadius();
    service.tokenEnrollment.start();
    service.#renewTimer = setInterval(() => void service.renewer.tick(), 60_000);
    service.#renewTimer.unref();
    service.#log.info('board', { board: board.board.name, explicit: board.explicit, wan: service.network.describe().wan });
    service.#log.info('started', { configRevision: revision });
    return service;
  }

  /** Validate, apply to the running subsystems, commit; or roll back and say why. */
  async applyConfig(next: PosternConfig, meta: { author: string; comment?: string; confirmWithin?: number }) {
    const before = this.store.current().revision;
    const result = await applyConfig(this.store, next, [this.access, this.supervisor], meta);
    if (result.ok && meta.confirmWithin !== undefined) this.safeMode.begin({ revision: result.revision, previousRevision: before, seconds: meta.confirmWithin, author: meta.author, comment: meta.comment ?? '' });
    if (result.ok) {
      this.#log.info('configuration applied', { revision: result.revision, author: meta.author });
      this.telemetry.configChanged(result.revision);
      this.telemetry.event('config-change', { revision: result.revision, author: meta.author });
      this.fleet.configChanged(meta.author); // a technician's change is drift from the fleet's desired state
      this.#warnAbout(next);
      this.network.poll(); // the WAN may be another interface now
    } else {
      this.#log.error('configuration change refused', { stage: result.stage, rolledBack: result.rolledBack, errors: result.errors });
    }
    return result;
  }

  /** Reboot or restart, as the command that runs the service decides; absent when it gave no way. */
  reboot?(): { readonly action: 'reboot' | 'restart' };

  /** The gateway certificate on disk changed (ACME, re-issue, import): the listeners serve it to new connections. */
  gatewayCertificateChanged(): void {
    const config = this.store.current().config;
    this.sstp.reloadCertificate(config);
    this.ike.reloadCertificate(config);
    this.web.reloadCertificate();
  }

  #sessionCounts(): { ikev2: number; sstp: number; l2tp: number; pptp: number } {
    return { ikev2: this.ike.sessions().length, sstp: this.sstp.sessions().length, l2tp: this.l2tp.sessions().length, pptp: this.pptp.sessions().length };
  }

  /** The counters subsystems put in their status (also in /healthz), for the MQTT status report. */
  #radiusOverview() {
    return radiusOverview(this.store.current().config, radiusListenersOf(this), this.das.status());
  }

  /** For the MQTT status (issue 21): absent while no listener asks RADIUS and nothing waits. */
  #radiusStatus() {
    const o = this.#radiusOverview();
    if (o.backlog === 0 && o.servers.every((s) => s.state === 'unused')) return undefined;
    return { backlog: o.backlog, servers: o.servers.map((s) => ({ name: s.name, state: s.state, ...(s.lastAnswerAt !== undefined ? { lastAnswerAt: new Date(s.lastAnswerAt).toISOString() } : {}) })) };
  }

  /** RADIUS servers going down or coming back, gateway-wide, as MQTT events (every 2 s; the clients decide, this only looks). */
  #watchRadius(): void {
    const events = new RadiusStateEvents();
    this.#radiusWatch = setInterval(() => {
      for (const e of events.observe(this.#radiusOverview().servers)) {
        this.#log[e.type === 'radius-server-down' ? 'warn' : 'info'](e.type === 'radius-server-down' ? 'RADIUS server down for every listener' : 'RADIUS server answering again', { ...e.details });
        this.telemetry.event(e.type, e.details);
      }
    }, 2000);
    this.#radiusWatch.unref();
  }

  #counters(): Record<string, Readonly<Record<string, number>>> {
    const out: Record<string, Readonly<Record<string, number>>> = {};
    for (const [name, status] of Object.entries(this.supervisor.status())) if (status.counters) out[name] = status.counters;
    if (this.fleet.counters.accepted + this.fleet.counters.refused > 0) out['fleet'] = this.fleet.countersByCause();
    return out;
  }

  /** Site-to-site tunnels, up or not, for the status report; a site this build cannot run says why. */
  #siteTunnels(): Array<{ name: string; state: string; rxBytes: number; txBytes: number; reason?: string; counters?: Record<string, number> }> {
    const up = new Map(this.siteStates().map((s) => [s.name, s]));
    return this.store.current().config.sites.filter((s) => s.enabled).map((s) => {
      const reason = siteUnavailableReason(s);
      const counters = s.protocol === 'gre' ? this.greSites.siteCounters(s.name) : undefined;
      return { name: s.name, state: up.get(s.name)?.state ?? 'down', rxBytes: up.get(s.name)?.rxBytes ?? 0, txBytes: up.get(s.name)?.txBytes ?? 0, ...(reason ? { reason } : {}), ...(counters ? { counters } : {}) };
    });
  }

  /** Every site tunnel that is up or being dialed: IKEv2, SSTP both dialing and answering; and, as 'unavailable', enabled sites of a protocol this build does not run (issue 25). */
  siteStates(): Array<{ name: string; state: string; rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }> {
    const unavailable = this.store.current().config.sites.filter((s) => s.enabled && siteUnavailableReason(s)).map((s) => ({ name: s.name, state: 'unavailable', rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 }));
    return [...this.ike.siteStates(), ...this.sstp.siteStates(), ...this.sstpSites.siteStates(), ...this.l2tp.siteStates(), ...this.l2tpSites.siteStates(), ...this.pptp.siteStates(), ...this.pptpSites.siteStates(), ...this.greSites.siteStates(), ...unavailable];
  }

  /** A site's Test (issue 17): IKEv2 and SSTP sites that dial; other protocols are not in this build. */
  async testSite(name: string): Promise<SiteTestResult | undefined> {
    const site = this.store.current().config.sites.find((s) => s.name === name);
    if (!site) return undefined;
    if (!site.enabled) return notAvailable(name, site.protocol, 'the site is disabled');
    if (site.protocol === 'ikev2' || site.protocol === 'ikev1') return (await this.ike.testSite(name)) ?? notAvailable(name, site.protocol, `${site.protocol === 'ikev1' ? 'IKEv1' : 'IKEv2'} is not running (${this.ike.status().detail ?? this.ike.status().state})`);
    if (site.protocol === 'gre') return notAvailable(name, site.protocol, 'GRE has no handshake to test: the site is up while keepalives are answered (its counters show drops)');
    if (site.protocol !== 'sstp' && site.protocol !== 'l2tp' && site.protocol !== 'pptp') return notAvailable(name, site.protocol, siteUnavailableReason(site));
    if (!site.initiate) return notAvailable(name, site.protocol, 'this site answers calls and does not dial: test it from the other gateway');
    if (site.protocol === 'pptp') return (await this.pptpSites.testSite(name)) ?? notAvailable(name, site.protocol, `PPTP sites are not running (${this.pptpSites.status().detail ?? this.pptpSites.status().state})`);
    if (site.protocol === 'l2tp') return (await this.l2tpSites.testSite(name)) ?? notAvailable(name, site.protocol, `L2TP sites are not running (${this.l2tpSites.status().detail ?? this.l2tpSites.status().state})`);
    return (await this.sstpSites.testSite(name)) ?? notAvailable(name, site.protocol, `SSTP sites are not running (${this.sstpSites.status().detail ?? this.sstpSites.status().state})`);
  }

  /** The last failure of a site in the doctor's words, and its next dial while down (issue 17). */
  siteHealth(name: string): SiteHealth {
    const site = this.store.current().config.sites.find((s) => s.name === name);
    const reason = site?.enabled ? siteUnavailableReason(site) : undefined;
    if (reason) return { reason };
    if (site?.protocol === 'gre') {
      const counters = this.greSites.siteCounters(name);
      const status = this.greSites.status();
      return counters ? { counters } : site.enabled && status.state !== 'running' ? { reason: status.detail ?? `GRE sites are ${status.state}` } : {};
    }
    const problem = this.problems.list({ site: name })[0];
    const dialed = this.sstpSites.siteStates().find((s) => s.name === name) ?? this.l2tpSites.siteStates().find((s) => s.name === name) ?? this.pptpSites.siteStates().find((s) => s.name === name);
    const kind = site?.protocol === 'l2tp' ? 'L2TP' : site?.protocol === 'pptp' ? 'PPTP' : 'SSTP';
    const retry = dialed?.nextRetryAt ?? this.ike.nextRetry(name);
    const lastError = problem
      ? { time: problem.lastTime, cause: problem.cause, explanation: problem.explanation, fix: problem.fix, detail: problem.detail, problemId: problem.id, count: problem.count }
      : dialed?.lastError ? { time: dialed.lastError.time, cause: `${kind.toLowerCase()}-call-ended`, explanation: `The ${kind} call to the peer failed or ended.`, fix: 'Press Test to see which step fails.', detail: dialed.lastError.reason } : undefined;
    return { ...(lastError ? { lastError } : {}), ...(retry !== undefined ? { nextRetry: new Date(retry).toISOString() } : {}) };
  }

  #disconnect(id: string): boolean {
    if (id.startsWith('ikev2-')) return this.ike.disconnect(id);
    const l2tp = /^l2tp-(\d+)$/.exec(id);
    if (l2tp) return this.l2tp.disconnect(Number(l2tp[1]));
    const pptp = /^pptp-(\d+)$/.exec(id);
    if (pptp) return this.pptp.disconnect(Number(pptp[1]));
    const m = /^sstp-(\d+)$/.exec(id);
    return m ? this.sstp.disconnect(Number(m[1])) : false;
  }

  /** A failed connection attempt: kept for the API and the web UI, and sent to the fleet console. */
  #problem(event: DoctorEvent): void {
    const facts = classify(event);
    if (!facts) return;
    const problem = this.problems.record(facts, this.#clock());
    this.telemetry.event('connection-problem', { ...problem });
  }

  // IKEv1 sites (issue 19) share the IKE subsystem; their events name the version they speak.
  readonly #ikeEvents = new IkeEventMapper((site) => this.store.current().config.sites.find((s) => s.name === site)?.protocol);

  /** Sessions and rekeys for the fleet console (MQTT events). */
  #ikeEvent(action: IkeAction): void {
    for (const e of this.#ikeEvents.map(action)) this.telemetry.event(e.type, e.details);
  }

  async stop(): Promise<void> {
    this.#log.info('stopping');
    this.safeMode.stop();
    this.tokenEnrollment.stop();
    clearInterval(this.#renewTimer);
    clearInterval(this.#radiusWatch);
    // Accounting-Off while the listeners' RADIUS is still open; their sessions' Stops follow as they close.
    await nasPower.stopping();
    this.expiry.stop();
    this.network.stop();
    await this.supervisor.stop();
    // Last: LEDs off and the watchdog's magic close only once everything stopped cleanly.
    this.hardware.stop();
    if (this.#resetting) this.#wipe();
    this.#log.info('stopped');
  }

  health(): Record<string, unknown> {
    return {
      status: 'ok',
      version: buildInfo.version,
      uptimeSeconds: Math.round((this.#clock() - this.#startedAt) / 1000),
      configRevision: this.store.current().revision,
      subsystems: this.supervisor.status(),
      listeners: this.#listenerStates(this.store.current().config),
      board: { ...this.hardware.describe(), counters: this.hardware.counters() },
      network: { ...this.network.describe(), counters: this.network.counters() },
      fleet: { ...healthSummary(this.fleetView()), counters: this.fleet.countersByCause() },
    };
  }

  /** The fleet state for the web UI's Fleet page (and, summarised, /healthz): issue 26. */
  fleetView(): FleetView {
    const { config, revision } = this.store.current();
    const mqtt = config.telemetry.mqtt;
    let certificatePem: string | undefined;
    try {
      certificatePem = mqtt.clientCertificate === BOARD_CERTIFICATE ? deviceCertificate(this.#options.stateDir, this.board.board.fleet)?.cert : undefined;
    } catch {
      certificatePem = undefined;
    }
    const refusal = this.tokenEnrollment.enroller?.lastRefusal;
    const enrollment = enrollmentView({ board: this.board.board.fleet, mqtt, certificatePem, enrolling: this.tokenEnrollment.enrolling, now: this.#clock(), ...(refusal ? { refusal } : {}) });
    const renewal = mqtt.clientCertificate === BOARD_CERTIFICATE && this.board.board.fleet ? this.renewer.status() : undefined;
    return { enrollment: { ...enrollment, ...(renewal ? { renewal } : {}) }, configRevision: revision, ...this.fleet.state() };
  }

  /** The interfaces holding the WAN and LAN roles now (firmware/network). */
  interfaceRoles(): { wan: string; lan: string } {
    const roles = this.network.roles();
    return { wan: roles.wan.name, lan: roles.lan.name };
  }

  /** The address WAN listeners bind now (firmware/network). */
  wanAddress(): string | undefined {
    return this.network.primary();
  }

  /** The IPv6 address WAN listeners bind beside it (issue 24). */
  wanAddress6(): string | undefined {
    return this.network.primary6();
  }

  /**
   * Factory reset (issue 18; the API after the admin password and a typed confirmation, or the reset
   * button held). After the answer went out, the service stops and its stop empties the state
   * directory (config and its history, PKI, users; the image stays); then the reboot hook reboots a
   * firmware box or restarts `postern run` in its process, so the next start is a first boot. The
   * wipe comes before the reboot: a reboot that fails leaves a wiped box, never a half-reset one.
   */
  factoryReset(why: string): void {
    if (this.#resetting) return;
    this.#resetting = true;
    this.#log.warn('factory reset', { why });
    setTimeout(() => void this.#resetThenReboot(), 300).unref();
  }

  async #resetThenReboot(): Promise<void> {
    await this.stop().catch((error: unknown) => this.#log.error('factory reset: unclean stop', { error }));
    // Nothing listens any more: hold the process open until the hook's own (unref'd) timer has run.
    setTimeout(() => undefined, 3000);
    this.#options.reboot?.();
  }

  #wipe(): void {
    const stateDir = resolve(this.#options.stateDir);
    try {
      const removed = wipeStateDir(stateDir, this.#options.keepOnFactoryReset ?? []);
      this.#log.warn('factory reset: state wiped', { stateDir, removed });
    } catch (error) {
      this.#log.error('factory reset failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  async #followWan(change: Parameters<typeof followWanChange>[1], current: Parameters<typeof followWanChange>[2]): Promise<void> {
    const running = this.supervisor.status();
    await followWanChange({
      logger: this.#log.child('network'),
      restart: (name, why) => this.supervisor.restart(name, why),
      ikeBound: () => this.ike.boundAddress, ikeBoundBoth: () => this.ike.boundAddresses, sstpBound6: () => this.sstp.boundAddress6, sstpBound: () => this.sstp.boundAddress,
      running: (name) => running[name] !== undefined && running[name].state !== 'stopped',
      event: (type, details) => this.telemetry.event(type, details),
      reconnectTelemetry: () => this.telemetry.telemetry?.reconnect(),
    }, change, current);
  }

  /** The watchdog is fed while the management answers and no subsystem has failed. */
  #healthy(): { ok: boolean; why?: string } {
    const status = this.supervisor.status();
    const failed = Object.entries(status).filter(([, s]) => s.state === 'failed').map(([n]) => n);
    if (failed.length) return { ok: false, why: `failed: ${failed.join(', ')}` };
    if (status['web'] && status['web'].state !== 'running' && !this.#resetting) return { ok: false, why: 'the web UI is not running' };
    return { ok: true };
  }

  #ledInputs(): { running: boolean; wanUp: boolean; tunnelsUp: boolean; error: boolean } {
    const states = Object.values(this.supervisor.status()).map((s) => s.state);
    const tunnelsUp = this.siteStates().some((s) => s.state === 'up' || s.state === 'established') || this.ike.sessions().length + this.sstp.sessions().length + this.l2tp.sessions().length + this.pptp.sessions().length > 0;
    return { running: !this.#resetting, wanUp: this.network.primary() !== undefined, tunnelsUp, error: states.includes('failed') || states.includes('unavailable') };
  }

  #listenerStates(config: PosternConfig): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, listener] of Object.entries(config.listeners) as Array<[string, { enabled: boolean }]>) {
      if (!listener.enabled) out[name] = 'disabled';
      else out[name] = listenerAvailability(name)?.runs === true ? 'enabled' : 'enabled, not available in this build';
    }
    return out;
  }

  /** Insecure or not-yet-available choices, and interfaces the box lacks, are loud at every start and every change. */
  #warnAbout(config: PosternConfig): void {
    const result = validateConfig(config, { interfaces: this.#interfaces() });
    for (const w of result.warnings) this.#log.warn(w.code === 'insecure' || w.code === 'weak' ? 'insecure configuration' : 'configuration warning', { path: w.path, why: w.message });
    for (const [name, state] of Object.entries(this.#listenerStates(config))) {
      if (state.includes('not available')) this.#log.warn('listener enabled but not available in this build', { listener: name });
    }
  }
}
