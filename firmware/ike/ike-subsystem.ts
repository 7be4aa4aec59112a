import { isIP, isIPv6 } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import { localUsers } from '../access/local-users.ts';
import { usersLosingAccess } from '../access/user-changes.ts';
import { siteChanges } from '../sites/site-changes.ts';
import { isDeepStrictEqual } from 'node:util';
import type { UserLookup } from '../crypto/user-credential.ts';
import type { Logger } from '../log/logger.ts';
import { wanAddressNow } from '../network/wan-network.ts';
import { loadOrCreatePki, type GatewayPki } from '../pki/pki-store.ts';
import { onlyGatewayCertificateChanged } from '../pki/gateway-certificate-change.ts';
import { ikeAddressProvider } from '../pools/ike-addresses.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { DhWorkerPool } from './crypto/dh-worker-pool.ts';
import { IkeEngine } from './engine/engine.ts';
import type { ChildSaInfo, IkeAction, VirtualAddressProvider } from './engine/types.ts';
import { connectionsFromConfig, gatewayCertificate, isIkev2Keyed } from './ike-connections.ts';
import { UserspaceDataPlane, kernelRouteOutside, kernelSteerVia, type SteeredTraffic } from '../dataplane/userspace.ts';
import { DataPlaneInstaller } from './shell/dataplane-installer.ts';
import { DriverTransport } from './shell/driver-transport.ts';
import { IkeShell } from './shell/ike-shell.ts';
import { IkeVersionDispatch } from './version-dispatch.ts';
import { openIkeRadius, type IkeRadius } from './ike-radius.ts';
import { flatRadiusCounters } from '../radius/server-state.ts';
import { Ikev1Engine } from '../ikev1/engine/engine.ts';
import type { L2tpIpsecPath } from '../l2tp/l2tp-subsystem.ts';
import { L2TP_PORT } from '../l2tp/header.ts';
import { L2tpPaths } from './l2tp-paths.ts';
import { L2tpPppData, type PppDataPath } from './l2tp-ppp-data.ts';
import type { PppDataSessionSpec } from '../dataplane/native-ppp.ts';
import { L2TP_IKEV1_CONNECTION, L2TP_SITE_PREFIX, ikev1ConnectionsFromConfig, isDialingL2tpSite, type Ikev1CertificateAuth } from '../ikev1/ikev1-connections.ts';
import { revokedSessions } from './shell/revocation-sweep.ts';
import { pooledRandomBytes } from './crypto/random-pool.ts';
import { revocationFromConfig, trustedCas, userStateFrom } from '../revocation/from-config.ts';
import { SiteRedial } from '../sites/site-redial.ts';
import { PeerAddresses } from '../sites/peer-addresses.ts';
import { ikeTestResult, type SiteTestResult } from '../sites/site-test.ts';
import { pingPlan, tunnelPing } from '../sites/tunnel-ping.ts';
import { observeIkeDial, type DialWatch } from './site-dial-test.ts';
import { observeIkev1Dial } from '../ikev1/ikev1-site-dial-test.ts';
import { ikev1TestResult } from '../sites/ikev1-site-test.ts';
import type { RevocationService } from '../revocation/revocation-service.ts';
import type { DasSessionHandle } from '../radius/das-sessions.ts';
import type { SessionChange } from '../radius/das-engine.ts';
import type { ListenerRadius } from '../auth/listener-radius.ts';

/** SPIs, nonces and IVs from one slab per few hundred asks (issue 23: each randomBytes call costs tens of µs). */
const ikeRandom = pooledRandomBytes();
/** DH on the other cores (issue 23): one pool for the service's life, made at the first start; its threads never hold the process. */
let dhPool: DhWorkerPool | undefined;
const ikeCrypto = () => ({ randomBytes: ikeRandom, createDh: (dhPool ??= new DhWorkerPool()).createDh });

export interface IkeSubsystemOptions {
  readonly logger: Logger;
  readonly stateDir: string;
  /** The shared TUN and pools of every remote-access protocol. */
  readonly access: AccessResources;
  /** SA events for the rest of the service (telemetry, the API's session list). */
  readonly onEvent?: (action: IkeAction) => void;
  /** The engine's log lines (the connection doctor reads refusals and failed attempts from them). */
  readonly onLog?: (action: Extract<IkeAction, { type: 'log' }>) => void;
  /** The WAN address to bind (firmware/network: roles from the config and the board); the box's own lookup when absent. */
  readonly wanAddress?: (config: PosternConfig) => string | undefined;
  /** The WAN's IPv6 address (issue 24): UDP 500/4500 and raw ESP are bound on it too, beside the IPv4 one or alone. */
  readonly wanAddress6?: (config: PosternConfig) => string | undefined;
}

/** What runs while the subsystem is up. */
type RunningIke = { shell: IkeShell; installer: DataPlaneInstaller; hub: HubLease; engine: IkeEngine; v1: Ikev1Engine | undefined; dataplane: UserspaceDataPlane; revocation: RevocationService; sweep: NodeJS.Timeout; config: PosternConfig; address: string; address6: string | undefined; addresses: VirtualAddressProvider };

/**
 * IKEv2 in the running service: the engine and its shell on UDP 500 and the driver's UDP 4500,
 * child SAs on the shared TUN, addresses from the pools, the gateway's certificate from the PKI.
 * Without the driver or the privileges to bind it reports itself unavailable and the rest of the
 * service carries on.
 */
export class IkeSubsystem implements Subsystem {
  readonly name = 'ikev2';
  readonly #options: IkeSubsystemOptions;
  #status: SubsystemStatus = { state: 'stopped' };
  #running: RunningIke | undefined;
  /** Dialing sites tried again after they go down (issue 17: the next retry is shown). */
  readonly #redial = new SiteRedial();
  readonly #peers = new PeerAddresses();
  #dialWatch: DialWatch | undefined;
  /** EAP-MSCHAPv2's user list; swapped in place when only the users change (no restart). */
  #users: UserLookup = () => undefined;
  /** RADIUS for EAP-MSCHAPv2 and accounting (issue 21); outlives #running while IKE stops, for the Stop records. */
  #radius: IkeRadius | undefined;

  constructor(options: IkeSubsystemOptions) {
    this.#options = options;
  }

  /** The WAN address UDP 500/4500 are bound to (the IPv4 one on a dual-stack WAN); undefined while not running. */
  get boundAddress(): string | undefined {
    return this.#running?.address;
  }

  /** Both families' bound addresses (issue 24); an IPv6-only WAN has only `ipv6`. */
  get boundAddresses(): { ipv4?: string; ipv6?: string } {
    const r = this.#running;
    if (!r) return {};
    const v4 = r.address.includes(':') ? undefined : r.address;
    return { ...(v4 ? { ipv4: v4 } : {}), ...(r.address6 ? { ipv6: r.address6 } : {}) };
  }

  get engine(): IkeEngine | undefined {
    return this.#running?.engine;
  }

  /** Established IKE SAs as sessions for the API: who, from where, which address, packets each way. */
  sessions(): Array<{ id: string; user: string; address: string | undefined; peer: string; since: number; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number; radiusServer?: string; class?: readonly Uint8Array[] }> {
    const r = this.#running;
    if (!r) return [];
    return r.engine.sas.filter((sa) => sa.state === 'established').map((sa) => {
      let packetsIn = 0;
      let packetsOut = 0;
      let bytesIn = 0;
      let bytesOut = 0;
      for (const child of sa.children) {
        const stats = r.installer.tunnel(child.inbound.spi)?.stats();
        packetsIn += Number(stats?.netRx ?? 0n);
        packetsOut += Number(stats?.netTx ?? 0n);
        const b = r.installer.bytes(child.inbound.spi);
        bytesIn += b?.in ?? 0;
        bytesOut += b?.out ?? 0;
      }
      const a = sa.eap.authorization;
      return { id: `ikev2-${sa.spiI.toString(16).padStart(16, '0')}`, user: sa.remoteId, address: sa.virtualIp?.address.ipv4, peer: sa.remote.address, since: sa.establishedAt, packetsIn, packetsOut, bytesIn, bytesOut,
        ...(a?.server !== undefined ? { radiusServer: a.server } : {}), ...(a?.class.length ? { class: a.class } : {}) };
    });
  }

  /** Site-to-site connections with an established IKE SA, and their packets (the data plane counts packets). */
  siteStates(): Array<{ name: string; state: string; rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }> {
    const r = this.#running;
    if (!r) return [];
    // IKEv1 sites (issue 19) are reported the same way; the site's protocol says which version it speaks.
    const sas: ReadonlyArray<{ readonly state: string; readonly connection?: { readonly name: string } | undefined; readonly children: readonly ChildSaInfo[] }> = [...r.engine.sas, ...(r.v1?.sas ?? [])];
    // A GRE site's SA is not a site of its own: the GRE subsystem reports the site, with its protection (greProtected).
    const gre = new Set(r.config.sites.filter((s) => s.protocol === 'gre').map((s) => `site:${s.name}`));
    return sas.filter((sa) => sa.state === 'established' && sa.connection?.name.startsWith('site:') && !gre.has(sa.connection.name)).map((sa) => {
      let rx = 0;
      let tx = 0;
      let rxBytes = 0;
      let txBytes = 0;
      for (const child of sa.children) {
        const stats = r.installer.tunnel(child.inbound.spi)?.stats();
        rx += Number(stats?.netRx ?? 0n);
        tx += Number(stats?.netTx ?? 0n);
        const b = r.installer.bytes(child.inbound.spi);
        rxBytes += b?.in ?? 0;
        txBytes += b?.out ?? 0;
      }
      return { name: (sa.connection?.name ?? '').slice('site:'.length), state: 'up', rxPackets: rx, txPackets: tx, rxBytes, txBytes };
    });
  }

  /** GRE over IPsec (issue 25): whether the site's IKE SA is up with a transport child for its GRE. */
  greProtected(site: string): boolean {
    return this.#running?.engine.sas.some((sa) => sa.state === 'established' && sa.connection?.name === `site:${site}` && sa.children.some((c) => c.mode === 'transport')) ?? false;
  }

  /**
   * GRE over IPsec through a NAT: where the site's SA runs. `peer`, the peer's address as seen here
   * (its NAT's when it is behind one), which the site's GRE follows; `seenAs`, our address as the
   * peer sees it when we are behind a NAT (the responder's answer names it, RFC 7296 §2.23.1), where
   * the peer sends our keepalives back to.
   */
  greIpsecPath(site: string): { peer: string; seenAs?: string } | undefined {
    const sa = this.#running?.engine.sas.find((x) => x.state === 'established' && x.connection?.name === `site:${site}` && x.children.some((c) => c.mode === 'transport'));
    if (!sa) return undefined;
    const seenAs = sa.natLocal ? sa.children.find((c) => c.mode === 'transport')?.originalAddresses?.local : undefined;
    return { peer: sa.remote.address, ...(seenAs && isIPv4(seenAs) && seenAs !== '0.0.0.0' ? { seenAs } : {}) };
  }

  /**
   * Whether L2TP with this address has its IPsec up (issue 20): an established IKEv1 SA of an L2TP
   * connection with that peer has a transport-mode child. L2TP sites' dialers ask before dialing;
   * the LNS knows each datagram's path exactly (l2tpPath).
   */
  l2tpProtected(address: string): boolean {
    return (this.#l2tpPeers.get(address) ?? 0) > 0;
  }

  /** The L2TP connection's transport children by inbound SPI, and how many each peer address has: one lookup per datagram. */
  readonly #l2tpChildren = new Map<string, string>();
  readonly #l2tpPeers = new Map<string, number>();

  #trackL2tp(action: IkeAction): void {
    const add = (child: ChildSaInfo) => {
      const address = /^([^/[]+)/.exec(child.remoteTs[0] ?? '')?.[1];
      if ((child.connection !== L2TP_IKEV1_CONNECTION && !child.connection.startsWith(L2TP_SITE_PREFIX)) || address === undefined) return;
      drop(child);
      this.#l2tpChildren.set(String(child.inbound.spi), address);
      this.#l2tpPeers.set(address, (this.#l2tpPeers.get(address) ?? 0) + 1);
    };
    const drop = (child: ChildSaInfo) => {
      const address = this.#l2tpChildren.get(String(child.inbound.spi));
      if (address === undefined) return;
      this.#l2tpChildren.delete(String(child.inbound.spi));
      const left = (this.#l2tpPeers.get(address) ?? 1) - 1;
      if (left > 0) this.#l2tpPeers.set(address, left);
      else this.#l2tpPeers.delete(address);
    };
    if (action.type === 'install-child' || action.type === 'rekey-child' || action.type === 'move-child') add(action.child);
    else if (action.type === 'delete-child') drop(action.child);
  }

  /** Where the L2TP shell takes the LNS's datagrams, each tagged with its client's path. */
  #l2tpReceiver: ((via: number, datagram: Buffer) => void) | undefined;
  /** Who hears that a path lost its last child (the L2TP shell closes its tunnels). */
  #l2tpPathGone: ((via: number) => void) | undefined;

  /**
   * The LNS's side of its clients' transport SAs (issue 20): their decrypted UDP 1701 comes up
   * tagged with the client's path (l2tp-paths.ts) instead of through the TUN, and answers leave
   * through the path's newest child.
   * (Dialing L2TP sites keep the TUN: their dialer's socket is connected to its one peer.)
   */
  readonly l2tpPath: L2tpIpsecPath = {
    receive: (handler) => void (this.#l2tpReceiver = handler),
    send: (via, sourcePort, destinationPort, payload) => this.#sendL2tp(via, sourcePort, destinationPort, payload),
    pppData: (via, spec) => this.#l2tpPppData.open(via, spec),
    gone: (handler) => void (this.#l2tpPathGone = handler),
  };

  /** The client endpoints' paths (l2tp-paths.ts): `via` is the path, stable across the client's rekeys. */
  readonly #l2tpPaths = new L2tpPaths();
  /** PPP data sessions in the driver on those paths (issue 20). */
  readonly #l2tpPppData = new L2tpPppData(this.#l2tpPaths, () => this.#running?.dataplane);

  #deliverL2tp(child: ChildSaInfo): void {
    const r = this.#running;
    const reqid = r?.installer.reqidOf(child.inbound.spi);
    const address = /^([^/[]+)/.exec(child.remoteTs[0] ?? '')?.[1];
    if (!r || reqid === undefined || address === undefined) return;
    const via = this.#l2tpPaths.add(`${address}:${child.encapsulation?.remotePort ?? 0}`, reqid);
    const up = r.dataplane.deliverUdp(reqid, L2TP_PORT, (datagram) => {
      if (this.#l2tpReceiver) this.#l2tpReceiver(via, datagram);
      else this.#l2tpUnheard++;
    });
    if (!up) this.#options.logger.warn('the driver cannot hand L2TP up by SA: the L2TP client stays unanswered', { reqid });
    else this.#l2tpPppData.joined(via, reqid);
  }

  /** A dialing L2TP site's transport child (issue 20): one path per site, so its PPP data session follows rekeys. */
  #l2tpSiteChild(connection: string, child: ChildSaInfo): void {
    const reqid = this.#running?.installer.reqidOf(child.inbound.spi);
    if (reqid === undefined) return;
    this.#l2tpPppData.joined(this.#l2tpPaths.add(connection, reqid), reqid);
  }

  /** Issue 20: a dialing L2TP site's IP framed and deframed in the driver on its transport children; undefined when it cannot. */
  l2tpSitePppData(site: string, spec: PppDataSessionSpec): PppDataPath | undefined {
    const via = this.#l2tpPaths.viaOf(`${L2TP_SITE_PREFIX}${site}`);
    return via === undefined ? undefined : this.#l2tpPppData.open(via, spec);
  }

  /** Through the path's newest child that still runs; children found gone are forgotten. */
  #sendL2tp(via: number, sourcePort: number, destinationPort: number, payload: Uint8Array): boolean {
    const dataplane = this.#running?.dataplane;
    if (!dataplane) return false;
    for (const reqid of this.#l2tpPaths.reqidsOf(via)) {
      const sent = dataplane.sendUdp(reqid, sourcePort, destinationPort, payload);
      if (sent > 0) return true;
      // Its child is gone (reqids are not reused while IKE runs); the path too if it was the last (told after this send).
      if (sent === -2 && this.#l2tpPaths.forget(via, reqid)) queueMicrotask(() => this.#l2tpPathGone?.(via));
    }
    return false;
  }

  /** L2TP datagrams that came up while L2TP was not listening. */
  #l2tpUnheard = 0;

  /** Keys an L2TP site's IKEv1 transport SA (issue 20) unless one is up or on its way; its L2TP dialer asks. */
  dialL2tpSite(name: string): void {
    const r = this.#running;
    const connection = `${L2TP_SITE_PREFIX}${name}`;
    if (!r?.v1 || r.v1.sas.some((s) => s.connection?.name === connection && s.state !== 'closed')) return;
    r.shell.initiate(connection, localFor(r, connection));
  }

  /** Management: delete the IKE SA (an INFORMATIONAL Delete to the peer, then its children go). */
  disconnect(id: string, reason = 'disconnected by the administrator'): boolean {
    const r = this.#running;
    const m = /^ikev2-([0-9a-f]{16})$/.exec(id);
    const sa = m && r?.engine.findSa(BigInt(`0x${m[1]}`), (s) => s.state === 'established');
    if (!r || !sa) return false;
    this.#radius?.accounting.ending(sa.spiI, reason);
    r.shell.terminate(sa.spiI);
    return true;
  }

  /** The listener's RADIUS client and spool while it runs with RADIUS (the RADIUS page, issue 21). */
  radiusListener(): ListenerRadius | undefined {
    return this.#radius?.listener;
  }

  /**
   * Remote-access sessions for RADIUS dynamic authorization (RFC 5176, issue 21). A CoA's
   * Session-Timeout goes to the engine, which deletes the IKE SA then, across rekeys (Stop cause Session-Timeout).
   */
  radiusSessions(): DasSessionHandle[] {
    const r = this.#running;
    if (!r) return [];
    return r.engine.sas.filter((sa) => sa.state === 'established' && sa.connection?.name === 'remote-access').map((sa) => {
      const id = `ikev2-${sa.spiI.toString(16).padStart(16, '0')}`;
      const acctSessionId = this.#radius?.accounting.acctSessionIdOf(sa.spiI);
      const framedIp = sa.virtualIp?.address.ipv4;
      return {
        id, user: sa.remoteId, peer: sa.remote.address, ...(acctSessionId ? { acctSessionId } : {}), ...(framedIp ? { framedIp } : {}),
        end: (reason: string) => void this.disconnect(id, reason),
        // Idle-Timeout and Acct-Interim-Interval are not changed on an IKE SA: such a CoA is NAKed (401).
        changeable: ['sessionTimeoutSeconds'],
        change: (change: SessionChange) => void (change.sessionTimeoutSeconds !== undefined && this.#running?.shell.setSessionTimeout(sa.spiI, change.sessionTimeoutSeconds)),
      };
    });
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    this.#status = { state: 'starting' };
    const address4 = (this.#options.wanAddress ?? wanAddressNow)(config);
    const address6 = this.#options.wanAddress6?.(config);
    // DHCP or PPPoE not done yet: the service restarts IKE when the WAN gets its address.
    if (!address4 && !address6) return this.#unavailable(`waiting for an address on the WAN (${config.system.wan.interface}, ${config.system.wan.mode}): IKE starts when it has one`);
    // The IPv4 address when there is one (GRE over IPsec selectors, the status); an IPv6-only WAN has its IPv6 one.
    const address = (address4 ?? address6)!;
    let hub: HubLease | undefined;
    let transport: DriverTransport | undefined;
    let revocation: RevocationService | undefined;
    let installerRef: DataPlaneInstaller | undefined;
    let shellRef: IkeShell | undefined;
    try {
      const pki = loadOrCreatePki(this.#options.stateDir, config.certificates, log.child('pki'));
      this.#users = localUsers(config.users);
      // listeners.ikev2.userAuth (issue 21): RADIUS checks EAP-MSCHAPv2; its verdict comes later and resumes the engine.
      const radius = (this.#radius = await openIkeRadius(config, (name) => this.#users(name), (spi) => installerRef?.bytes(spi), log, this.#options.stateDir, address));
      // Revocation (issue 16): fetched and kept by the service, answered to the engine from its cache.
      revocation = revocationFromConfig(config, pki.ca.certificatePem, this.#options.stateDir, log.child('revocation'), () => this.#endRevoked());
      const localAddresses = [address4, address6].filter((a): a is string => a !== undefined);
      // Kept, so stop() can give back the leases of the SAs it ends.
      const addresses = ikeAddressProvider(this.#options.access.pools);
      const engine = new IkeEngine(connectionsFromConfig(config, pki, address, localAddresses), ikeCrypto(), {
        users: (name) => this.#users(name),
        ...(radius ? { onEapVerdict: () => shellRef?.resumeEap() } : {}),
        ...(radius && config.listeners.ikev2.eapPassThrough ? { eapRadius: (peer: string) => radius.listener.eapPeer(peer) } : {}),
        ...(radius && !config.listeners.ikev2.eapPassThrough ? { mschapv2: (peer: string) => radius.listener.verifier(peer) } : {}),
        addresses,
        revocation,
        logLevel: log.level, // what the logger would drop is not built
      });
      // IKEv1 sites (issue 19) share UDP 500/4500: messages go to each engine by their ISAKMP version.
      const v1Connections = ikev1ConnectionsFromConfig(config, siteCertificateAuth(config, pki));
      const v1 = v1Connections.length ? new Ikev1Engine(v1Connections, ikeCrypto(), { revocation }) : undefined;
      const lanAddress = config.system.lan.address.split('/')[0]!;
      hub = this.#options.access.acquireHub(config);
      const dispatch = new IkeVersionDispatch(engine, v1 && { engine: v1, connections: v1Connections.map((c) => c.name) });
      const shell = (shellRef = new IkeShell(dispatch, log, (action) => this.#onAction(action), Date.now, () => dhPool?.settled()));
      shell.onLog = this.#options.onLog;
      transport = await DriverTransport.open([address4, address6].filter((a): a is string => a !== undefined), shell.receive);
      // Children go in through the DataPlane interface; the pools are routed to the shared TUN as a whole.
      const dataplane = new UserspaceDataPlane({
        hub: hub.hub, pipe: hub.pipe(), ...transport.dataplaneEndpoints(),
        tunnelAddress: lanAddress, kernelRoute: kernelRouteOutside(hub.hub.name, hub.pools), kernelSteer: this.#steerUnlessLns(kernelSteerVia(hub.hub.name)),
      });
      const installer = (installerRef = new DataPlaneInstaller({ dataplane, log: log.child('dataplane') }));
      shell.attach(transport);
      // Live sessions are looked at again each minute too: an OCSP answer or CRL past its time is
      // fetched again by the check itself, and a revocation found then ends the session.
      const sweep = setInterval(() => this.#endRevoked(), 60_000);
      sweep.unref();
      const running = (this.#running = { shell, installer, hub, engine, v1, dataplane, revocation, sweep, config, address, address6, addresses });
      for (const site of config.sites.filter((s) => s.enabled && isIkeSite(s) && s.initiate)) this.#dialSite(running, `site:${site.name}`);
      const bound = transport.addresses.map((a) => (a.includes(':') ? `[${a}]` : a)).join(' and ');
      this.#status = { state: 'running', detail: `UDP ${bound}:500 and :4500, shared TUN ${hub.hub.name}${v1 ? ', IKEv1 sites too' : ''}` };
      log.info('IKEv2 listening', { address, ...(address6 && address6 !== address ? { address6 } : {}), tun: hub.hub.name });
      if (v1) log.info('IKEv1 listening', { address, sites: v1Connections.filter((c) => c.name.startsWith('site:')).map((c) => c.name.slice('site:'.length)), l2tp: config.listeners.l2tp.enabled });
    } catch (error) {
      await transport?.close();
      hub?.release();
      revocation?.close();
      this.#radius?.listener.close();
      this.#radius = undefined;
      return this.#unavailable(error instanceof Error ? error.message : String(error));
    }
  }

  /** Ends the sessions of peers whose certificate is now revoked (issue 16), one warn line each. */
  #endRevoked(): void {
    const r = this.#running;
    if (!r) return;
    for (const { sa, reason } of revokedSessions(r.engine.sas, r.revocation, new Date())) {
      this.#options.logger.warn('ending the session of a revoked certificate', { reason, peer: sa.remoteId, connection: sa.connection?.name, spi: sa.spiI.toString(16) });
      r.shell.terminate(sa.spiI);
    }
    // IKEv1 sites authenticated by certificate likewise (the dispatch routes the delete by cookie).
    for (const { sa, reason } of revokedSessions(r.v1?.sas ?? [], r.revocation, new Date())) {
      this.#options.logger.warn('ending the session of a revoked certificate', { reason, peer: sa.remoteId, connection: sa.connection?.name, spi: sa.ckyI.toString(16), ikeVersion: 1 });
      r.shell.terminate(sa.ckyI);
    }
  }

  /** The child whose action is being applied to the data plane now (its policies' kernel steering asks whose they are). */
  #childInHand: ChildSaInfo | undefined;

  /**
   * Transport-mode steering (a policy-routing rule and route per policy) only for what this host's
   * own sockets send: L2TP sites' dialers. The LNS answers its clients through their SAs (l2tpPath,
   * the driver's PPP data path), never through a socket, so its clients need no rule; a rule each
   * cost two `ip` runs per call on the event loop and was walked by every packet the host sent
   * (the L2TP sessions benchmark slowed from 4 to 1 call/s by 1,000 clients).
   */
  #steerUnlessLns(steer: (selectors: SteeredTraffic, add: boolean) => void): (selectors: SteeredTraffic, add: boolean) => void {
    return (selectors, add) => {
      if (this.#childInHand?.connection !== L2TP_IKEV1_CONNECTION) steer(selectors, add);
    };
  }

  #onAction(action: IkeAction): void {
    this.#childInHand = 'child' in action ? action.child : undefined;
    try {
      this.#applyAction(action);
    } finally {
      this.#childInHand = undefined;
    }
  }

  #applyAction(action: IkeAction): void {
    this.#trackL2tp(action);
    this.#radius?.accounting.observe(action); // before a deleted child's counters go with it
    const installer = this.#running?.installer;
    // An L2TP child's reqid, read before its delete takes it out of the installer.
    const l2tpGone = action.type === 'delete-child' && (action.child.connection === L2TP_IKEV1_CONNECTION || action.child.connection?.startsWith(L2TP_SITE_PREFIX)) ? installer?.reqidOf(action.child.inbound.spi) : undefined;
    try {
      if (action.type === 'install-child') installer?.install(action.child);
      else if (action.type === 'rekey-child') installer?.rekey(action.old, action.child, action.initiated, action.confirmed);
      else if (action.type === 'delete-child') installer?.remove(action.child);
      else if (action.type === 'move-child') installer?.move(action.child);
    } catch (error) {
      this.#options.logger.error('the data plane refused a child SA', { error: error instanceof Error ? error.message : String(error), action: action.type });
    }
    if ((action.type === 'install-child' || action.type === 'rekey-child') && action.child.connection === L2TP_IKEV1_CONNECTION) this.#deliverL2tp(action.child);
    if ((action.type === 'install-child' || action.type === 'rekey-child') && action.child.connection?.startsWith(L2TP_SITE_PREFIX)) this.#l2tpSiteChild(action.child.connection, action.child);
    // The last child of a reqid gone (not a rekey's old half): its path forgets it, an empty path goes.
    if (l2tpGone !== undefined && !installer?.hasReqid(l2tpGone)) {
      const paths = this.#l2tpPaths.forgetReqid(l2tpGone);
      this.#l2tpPppData.left();
      for (const via of paths) this.#l2tpPathGone?.(via);
    }
    if (action.type === 'ike-up') this.#options.logger.info('IKE SA up', { connection: action.connection, peer: action.remoteId, remote: `${action.remote.address}:${action.remote.port}`, virtualIp: action.virtualIp?.ipv4 });
    if (action.type === 'ike-down') {
      this.#options.logger.info('IKE SA down', { connection: action.connection, reason: action.reason });
      this.#dialWatch?.down(action.spi, action.reason);
      this.#siteDown(action.connection);
    }
    if (action.type === 'ike-up' && action.connection.startsWith('site:')) this.#redial.up(action.connection.slice(5));
    this.#options.onEvent?.(action);
  }

  /** A dialing site that went down (or failed to come up) is dialed again after its backoff, unless another SA of it is up. */
  #siteDown(connection: string): void {
    const r = this.#running;
    const name = connection.startsWith('site:') ? connection.slice(5) : undefined;
    const site = name === undefined ? undefined : r?.config.sites.find((s) => s.name === name && s.enabled && isIkeSite(s) && s.initiate);
    if (!r || !site) return;
    if ([...r.engine.sas, ...(r.v1?.sas ?? [])].some((s) => s.connection?.name === connection && s.state !== 'closed')) return;
    this.#peers.failed(site.name); // a site named by DNS tries its next address (the other family first)
    const at = this.#redial.schedule(site.name, () => this.#running === r && this.#dialSite(r, connection));
    this.#options.logger.info('site dialed again later', { site: site.name, at: new Date(at).toISOString() });
  }

  /**
   * Dials a site: its address, or (an IKEv2 site named by DNS, issue 24) the address its name has
   * now, IPv6 first among the families the WAN has, the next one after each failed dial.
   */
  #dialSite(r: RunningIke, connection: string): void {
    const site = r.config.sites.find((s) => `site:${s.name}` === connection);
    if (!site || isIP(site.remote) || site.protocol !== 'ikev2') {
      r.shell.initiate(connection, localFor(r, connection));
      return;
    }
    void this.#peers.next(site.name, site.remote, familiesOf(r)).then((found) => {
      if (this.#running !== r) return;
      if ('error' in found) {
        this.#options.logger.warn('site peer not found by name', { site: site.name, why: found.error });
        this.#siteDown(connection);
        return;
      }
      this.#options.logger.info('site dialed by name', { site: site.name, name: site.remote, address: found.address, addresses: found.of });
      r.shell.initiate(connection, localToward(r, found.address), found.address);
    });
  }

  /** Epoch milliseconds of a down site's next dial, if one is scheduled. */
  nextRetry(site: string): number | undefined {
    return this.#redial.nextAt(site);
  }

  /**
   * The site's "Test" (issue 17): dials it now and reports each step; a ping into the remote network
   * when the LAN address is one of the site's local networks. One test at a time.
   */
  async testSite(name: string, deadlineMs = 12_000): Promise<SiteTestResult | undefined> {
    const r = this.#running;
    const site = r?.config.sites.find((s) => s.name === name && (s.protocol === 'ikev2' || (s.protocol === 'ikev1' && r.v1 !== undefined)));
    if (!r || !site) return undefined;
    if (this.#dialWatch) throw new Error('another site test is running');
    this.#redial.cancel(name); // the test is this try
    if (site.protocol === 'ikev1') return this.#testIkev1Site(r, site, deadlineMs);
    // A site named by DNS is tested at the address its name has now (issue 24).
    const named = isIP(site.remote) ? undefined : await this.#peers.next(site.name, site.remote, familiesOf(r));
    if (named && 'error' in named) return ikeTestResult(name, { address: site.remote, reached: 'none', children: 0, closedReason: named.error, timedOut: false, elapsedMs: 0 });
    const remote = named?.address;
    const local = remote ? localToward(r, remote) : localFor(r, `site:${name}`);
    const seen = await observeIkeDial(r.engine, r.shell, `site:${name}`, local, { deadlineMs, watch: (w) => void (this.#dialWatch = w), ...(remote ? { remote } : {}) });
    const plan = seen.reached === 'established' && seen.children > 0 ? pingPlan(r.config.system.lan.address, site.localSubnets, site.remoteSubnets) : undefined;
    const ping = plan ? await tunnelPing(plan.source, plan.target) : undefined;
    return ikeTestResult(name, { ...seen, ...(ping ? { ping } : {}) });
  }

  /** The same for an IKEv1 site (issue 19): Main (or Aggressive) Mode, Quick Mode, ping. */
  async #testIkev1Site(r: { v1: Ikev1Engine | undefined; shell: IkeShell; address: string; address6: string | undefined; config: PosternConfig }, site: SiteConfig, deadlineMs: number): Promise<SiteTestResult> {
    this.#dialWatch = { down: () => {} }; // one test at a time
    try {
      const seen = await observeIkev1Dial(r.v1!, r.shell, `site:${site.name}`, localFor(r, `site:${site.name}`), deadlineMs);
      const plan = seen.reached === 'established' && seen.children > 0 ? pingPlan(r.config.system.lan.address, site.localSubnets, site.remoteSubnets) : undefined;
      const ping = plan ? await tunnelPing(plan.source, plan.target) : undefined;
      return ikev1TestResult(site.name, { ...seen, mode: site.aggressive ? 'Aggressive' : 'Main', auth: site.auth, ...(ping ? { ping } : {}) });
    } finally {
      this.#dialWatch = undefined;
    }
  }

  #unavailable(detail: string): void {
    this.#status = { state: 'unavailable', detail };
    this.#options.logger.error('IKEv2 is not available', { detail });
  }

  /**
   * A change of the gateway certificate alone (its names, ACME) is a live swap, and so are users and
   * IKEv2 sites (only the sessions they concern end); anything else restarts IKE, which ends its SAs.
   */
  async reconfigure(next: PosternConfig, previous?: PosternConfig): Promise<void> {
    if (this.#running && previous && onlyGatewayCertificateChanged(previous, next, ikeSlice)) return this.reloadCertificate(next);
    if (this.#running && previous && onlyLiveChanges(previous, next)) return this.#liveChange(previous, next);
    await this.stop();
    await this.start(next);
  }

  /**
   * The gateway certificate changed (ACME renewal, re-issue, new public name; issue 16): new IKE_AUTHs,
   * initiations and reauthentications sign with the new one and send its chain; IKE SAs already up
   * keep running on the one they were authenticated with.
   */
  reloadCertificate(config: PosternConfig): void {
    const r = this.#running;
    if (!r) return;
    const pki = loadOrCreatePki(this.#options.stateDir, config.certificates, this.#options.logger.child('pki'));
    r.engine.replaceConnections(connectionsFromConfig(config, pki, r.address, bothOf(r)));
    this.#options.logger.info('IKEv2 signs with a new gateway certificate', { acme: pki.server.acme === true, keptSas: r.engine.sas.length });
  }

  /** Users or IKEv2 sites changed, nothing else: applied in place, the other sessions stay up. */
  #liveChange(previous: PosternConfig, next: PosternConfig): void {
    this.#running!.config = next;
    if (!isDeepStrictEqual(previous.users, next.users)) this.#usersChanged(previous, next);
    const sites = siteChanges(previous, next, (s) => s.protocol === 'ikev2');
    if (sites.ended.length || sites.dial.length) this.#sitesChanged(next, sites);
  }

  /**
   * IKEv2 sites added, edited, disabled or removed: new connections for the engine (SAs up keep
   * theirs), the SAs of sites removed or edited end, sites added or edited that dial out are dialed.
   * Remote-access clients and the other sites stay connected.
   */
  #sitesChanged(next: PosternConfig, { ended, dial }: { ended: string[]; dial: string[] }): void {
    const r = this.#running!;
    const pki = loadOrCreatePki(this.#options.stateDir, next.certificates, this.#options.logger.child('pki'));
    r.engine.replaceConnections(connectionsFromConfig(next, pki, r.address, bothOf(r)));
    for (const name of ended) {
      this.#redial.cancel(name);
      this.#peers.forget(name); // dialed again later (a changed name), it starts at the first address
      const sas = r.engine.sas.filter((sa) => sa.connection?.name === `site:${name}` && sa.state !== 'closed' && sa.state !== 'deleting');
      for (const sa of sas) r.shell.terminate(sa.spiI);
    }
    for (const name of dial) this.#dialSite(r, `site:${name}`);
    this.#options.logger.info('IKE took the site changes without a restart', { ended, dialed: dial });
  }

  /**
   * Users added, edited, disabled or removed: the next EAP login sees the new list, certificates of
   * users no longer enabled are refused, and only the sessions of users who lost access end (one
   * Delete each); everyone else stays connected.
   */
  #usersChanged(previous: PosternConfig, next: PosternConfig): void {
    const r = this.#running!;
    this.#users = localUsers(next.users);
    r.revocation.setUserState(userStateFrom(next));
    const gone = usersLosingAccess(previous, next);
    const ended = r.engine.sas.filter((sa) => sa.state === 'established' && gone.has(sa.remoteId) && sa.connection?.peerAuth === 'eap-mschapv2');
    for (const sa of ended) {
      this.#options.logger.info('ending the session of a user who lost access', { user: sa.remoteId, spi: sa.spiI.toString(16) });
      r.shell.terminate(sa.spiI);
    }
    this.#endRevoked(); // certificate users disabled or removed
    this.#options.logger.info('IKE took the new user list without a restart', { ended: ended.length, keptSas: r.engine.sas.length - ended.length });
  }

  async stop(): Promise<void> {
    const r = this.#running;
    this.#running = undefined;
    this.#redial.stopAll();
    if (!r) return void (this.#status = { state: 'stopped' });
    this.#status = { state: 'stopping' };
    clearInterval(r.sweep);
    this.#farewell(r);
    const radius = this.#radius;
    this.#radius = undefined;
    if (radius) {
      await radius.accounting.close('IKE stopped');
      radius.listener.close();
    }
    this.#l2tpChildren.clear();
    this.#l2tpPeers.clear();
    this.#l2tpPaths.clear();
    this.#l2tpPppData.clear();
    r.revocation.close();
    await r.shell.close();
    // The SAs end with the engine, unannounced to it (their Deletes were fire-and-forget): their pool
    // leases are given back here, or they would stay held (and a reconnecting client be given another
    // address, since a held name is never shared with a new session).
    for (const vip of new Map(r.engine.sas.filter((sa) => !sa.initiator && sa.virtualIp).map((sa) => [`${sa.virtualIp!.pool}\0${sa.virtualIp!.identity}`, sa.virtualIp!])).values()) r.addresses.release(vip.pool, vip.identity);
    r.installer.stopAll();
    r.hub.release();
    this.#status = { state: 'stopped' };
  }

  /**
   * IKE stops (a restart for a configuration change, a new WAN address, shutdown): every established
   * peer gets a Delete, not awaited, so clients and sites reconnect at once instead of waiting for
   * their dead-peer detection; the rest of the service hears each session end. From an address that
   * is already gone the Delete cannot leave, and the session still ends here.
   */
  #farewell(r: { engine: IkeEngine; v1: Ikev1Engine | undefined; shell: IkeShell }): void {
    const up = [
      ...r.engine.sas.filter((sa) => sa.state === 'established').map((sa) => ({ spi: sa.spiI, connection: sa.connection?.name ?? '' })),
      ...(r.v1?.sas ?? []).filter((sa) => sa.state === 'established').map((sa) => ({ spi: sa.ckyI, connection: sa.connection?.name ?? '' })),
    ];
    for (const sa of up) {
      try {
        r.shell.terminate(sa.spi);
      } catch {
        // The WAN address went away first: nothing can be sent from it.
      }
      this.#options.onEvent?.({ type: 'ike-down', spi: sa.spi, connection: sa.connection, reason: 'IKE stopped (restart or shutdown)' });
    }
    if (up.length) this.#options.logger.info('IKE stopping: a Delete sent to every peer', { sas: up.length });
  }

  /**
   * With the counters that show the limits firing (cookies asked, over-rate requests answered with
   * cookies, half-open cap, IKEv1 refused, malformed packets) and what the data plane holds, so a
   * leak or a flood shows in /healthz and the MQTT status.
   */
  status(): SubsystemStatus {
    const r = this.#running;
    if (!r) return this.#status;
    const dp = r.dataplane.stats();
    const sas = r.engine.sas;
    const v1 = r.v1?.sas.filter((s) => s.state !== 'closed') ?? [];
    return {
      ...this.#status,
      counters: {
        ...Object.fromEntries(Object.entries(r.engine.drops).map(([k, v]) => [`dropped.${k}`, v])),
        ...(r.v1 ? { 'ikev1.sas': v1.length, 'ikev1.established': v1.filter((s) => s.state === 'established').length, ...Object.fromEntries(Object.entries(r.v1.drops).map(([k, v]) => [`ikev1.dropped.${k}`, v])) } : {}),
        'ike.sas': sas.length, 'ike.established': sas.filter((s) => s.state === 'established').length, 'ike.halfOpen': r.engine.halfOpenCount,
        'dataplane.sas': dp.sas, 'dataplane.policies': dp.policies, 'dataplane.tunnels': dp.tunnels,
        'l2tp.unheard': this.#l2tpUnheard, 'l2tp.paths': this.#l2tpPaths.size,
        ...(this.#radius ? flatRadiusCounters(this.#radius.listener.client.counters()) : {}),
        'revocation.fetches': r.revocation.counters.fetches, 'revocation.failures': r.revocation.counters.failures, 'revocation.revoked': r.revocation.counters.revokedAnswers,
      },
    };
  }
}

/** What an IKEv1 certificate site signs with and trusts: the same as an IKEv2 certificate site's. */
function siteCertificateAuth(config: PosternConfig, pki: GatewayPki): Ikev1CertificateAuth {
  const trusted = [new X509Certificate(pki.ca.certificatePem).raw, ...trustedCas(config).map((t) => t.ca.raw)];
  return { certificate: gatewayCertificate(pki), trustedCas: trusted, localId: config.certificates.server.sans[0] ?? config.certificates.server.commonName };
}

/** Sites this subsystem keys: IKEv2's (GRE over IPsec's too, issue 25), and IKEv1's on the same UDP 500/4500 (issue 19). */
const isIkeSite = (s: PosternConfig['sites'][number]): boolean => isIkev2Keyed(s) || s.protocol === 'ikev1';

/**
 * Whether a change touches, of what IKE reads, only the users and the IKEv2 sites: those apply in
 * place. IKEv1 sites, L2TP and everything else still restart IKE.
 */
const onlyLiveChanges = (previous: PosternConfig, next: PosternConfig): boolean => isDeepStrictEqual(ikeSlice(withoutLiveParts(previous)), ikeSlice(withoutLiveParts(next)));
const withoutLiveParts = (c: PosternConfig): PosternConfig => ({ ...c, users: [], sites: c.sites.filter((s) => s.protocol !== 'ikev2') });

// Of L2TP only what keys its IKEv1 SA: its tunnel secret or plain-L2TP switch need no IKE restart.
/** The address families IKE is bound in: a site named by DNS is dialed only at addresses of these. */
const familiesOf = (r: { address: string; address6: string | undefined }): Set<4 | 6> => new Set<4 | 6>([isIPv6(r.address) ? 6 : 4, ...(r.address6 ? [6 as const] : [])]);

/** The bound addresses, one per family. */
const bothOf = (r: { address: string; address6: string | undefined }): string[] => [...new Set([r.address, ...(r.address6 ? [r.address6] : [])])];

/** The local endpoint toward a peer address: the WAN address of its family (issue 24), the other when there is none. */
const localToward = (r: { address: string; address6: string | undefined }, remote: string | undefined): { address: string; port: number } =>
  ({ address: remote !== undefined && isIPv6(remote) && r.address6 ? r.address6 : r.address, port: 500 });

/** The local endpoint a connection is dialled from: toward its site's peer (a DNS name falls back to the primary address). */
function localFor(r: { config: PosternConfig; address: string; address6: string | undefined }, connection: string): { address: string; port: number } {
  // An L2TP site's IKEv1 connection (issue 24) too: an IPv6 peer is keyed from the WAN's IPv6 address.
  const site = /^(?:site|l2tp-site):(.*)$/.exec(connection)?.[1];
  return localToward(r, site === undefined ? undefined : r.config.sites.find((s) => s.name === site)?.remote);
}

const ikeSlice = (c: PosternConfig) => ({ ikev2: c.listeners.ikev2, radius: (c.listeners.ikev2.userAuth ?? 'local') === 'local' ? undefined : c.radius, l2tp: { enabled: c.listeners.l2tp.enabled, psk: c.listeners.l2tp.psk, ipsec: c.listeners.l2tp.ipsec }, sites: c.sites, users: c.users, pools: c.pools, certificates: c.certificates, wan: c.system.wan, lan: c.system.lan });

export function ikeSpec(create: () => IkeSubsystem): SubsystemSpec {
  return {
    name: 'ikev2',
    // L2TP/IPsec clients key their transport-mode SA with IKEv1 on the same UDP 500/4500 (issue 20).
    wanted: (c) => c.listeners.ikev2.enabled || c.listeners.l2tp.enabled || c.sites.some((s) => (s.enabled && isIkeSite(s)) || isDialingL2tpSite(s)),
    slice: ikeSlice,
    create,
  };
}
