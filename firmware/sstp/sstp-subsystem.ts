/*
 * SSTP in the running service: the TLS listener on 443 with the gateway certificate, a PPP session
 * per call authenticated against the local users or RADIUS (listeners.sstp.auth, auth/listener-radius.ts),
 * addresses from the shared pools, packets through the shared TUN's pipe. Without the privileges or
 * the driver it reports itself unavailable.
 *
 * Issue 23: unless `listeners.sstp.dataPath` is 'javascript', each call's TLS runs in the driver
 * (sstp-listener.ts) and, once IPCP (then IPV6CP) is open, the session's IP moves between the shared
 * TUN and the call in C (the driver's PPP data path): no JavaScript per packet. What stays here, logged
 * once per call with the reason: MPPE inside SSTP (listeners.sstp.mppe not 'off': CCP may open after
 * IPCP, and the driver has no MPPE for SSTP), more prefixes than the driver takes, a driver without it.
 */
import { randomBytes } from 'node:crypto';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import { localUsers } from '../access/local-users.ts';
import { onlyUsersChanged, usersLosingAccess } from '../access/user-changes.ts';
import type { UserLookup } from '../crypto/user-credential.ts';
import { GATEWAY_AUTH_METHODS, pppAuthenticatorFor } from '../access/ppp-authenticators.ts';
import { calledStationOf, openListenerRadius, type ListenerRadius } from '../auth/listener-radius.ts';
import type { SessionAccounting } from '../radius/session-accounting.ts';
import { flatRadiusCounters } from '../radius/server-state.ts';
import type { DasSessionHandle } from '../radius/das-sessions.ts';
import { pppDasSessions } from '../access/ppp-das.ts';
import { AnsweringSites } from '../access/answering-sites.ts';
import { PppSession, dhcpInformAnswer, type PppSessionInfo, type PppSessionOptions, type PppSetupFailure } from '../access/ppp-session.ts';
import type { MppePolicy } from '../ppp/mppe/mppe-option.ts';
import type { PosternConfig, SiteConfig, SstpLimitsConfig } from '../config/types.ts';
import { wanAddressNow } from '../network/wan-network.ts';
import type { Logger } from '../log/logger.ts';
import { loadOrCreatePki } from '../pki/pki-store.ts';
import { onlyGatewayCertificateChanged } from '../pki/gateway-certificate-change.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import type { PppLinkPort, SstpCallIo, SstpDriverPath } from './sstp-connection.ts';
import { MAX_SOURCES } from '../dataplane/native-ppp.ts';
import { loadDriver } from '../dataplane/native.ts';
import { SstpListener, type SstpListenerOptions } from './sstp-listener.ts';
import type { SstpLimits } from './admission.ts';

export interface SstpSubsystemOptions {
  readonly logger: Logger;
  readonly stateDir: string;
  readonly access: AccessResources;
  /** Overrides the listening address (tests, `postern run --only`). */
  readonly listenAddress?: string;
  /** The WAN address to bind (firmware/network); the box's own lookup when absent. */
  readonly wanAddress?: (config: PosternConfig) => string | undefined;
  /** The WAN's IPv6 address, listened on beside the IPv4 one (issue 24); none when absent. */
  readonly wanAddress6?: (config: PosternConfig) => string | undefined;
  readonly onSession?: (event: 'up' | 'down', info: PppSessionInfo) => void;
  readonly onAuthFailure?: (user: string | undefined, peer: string) => void;
  /** A session that ended before its network came up, for another reason than its login (the connection doctor). */
  readonly onSetupFailure?: (failure: PppSetupFailure, peer: string) => void;
  /** A client that completed TLS and hung up before its SSTP request (it refused the certificate). */
  readonly onClosedAfterTls?: (peer: string) => void;
  /** An SSTP call that failed after TLS and before it was established, or refused at the calls limit (the connection doctor). */
  readonly onCallFailed?: (peer: string, reason: string) => void;
  /** ACME tls-alpn-01 challenge certificates by server name (issue 16). */
  readonly acmeAlpn?: SstpListenerOptions['acmeAlpn'];
}

export class SstpSubsystem implements Subsystem {
  readonly name = 'sstp';
  readonly #options: SstpSubsystemOptions;
  readonly #sessions = new Set<PppSession>();
  /** Packets from clients dropped for their source (issue 20: outside a session's /64), by family. */
  readonly #pppCounters: Record<string, number> = {};
  /** Issue 23: the sessions whose IP the driver carries, and what it carried for each (restarts and ended paths included). */
  readonly #driverData = new Map<PppSession, DriverData>();
  /** Answering SSTP sites by the user they authenticate as, and the session carrying each. */
  #sites: AnsweringSites;
  #status: SubsystemStatus = { state: 'stopped' };
  #running: { listener: SstpListener; hub: HubLease; host: string; host6?: string | undefined; radius: ListenerRadius | undefined; accounting: SessionAccounting | undefined } | undefined;
  /** The users PPP authenticates against; swapped in place when only the users change (no restart). */
  #users: UserLookup = () => undefined;

  constructor(options: SstpSubsystemOptions) {
    this.#options = options;
    this.#sites = new AnsweringSites([], options.access, options.logger, 'SSTP');
  }

  /** The address the listener is bound to (0.0.0.0: all); undefined while not running. */
  get boundAddress(): string | undefined {
    return this.#running?.host;
  }

  /** The IPv6 address listened on beside it (issue 24); undefined without one. */
  get boundAddress6(): string | undefined {
    return this.#running?.host6;
  }

  sessions(): PppSessionInfo[] {
    return [...this.#sessions].map((s) => s.info);
  }

  /** Management: end one session (LCP Terminate, then Call Disconnect). */
  disconnect(id: number, reason = 'disconnected by the administrator'): boolean {
    const session = [...this.#sessions].find((s) => s.info.id === id);
    session?.close(reason);
    return session !== undefined;
  }

  /** The listener's RADIUS client and spool while it runs with RADIUS (the RADIUS page, issue 21). */
  radiusListener(): ListenerRadius | undefined {
    return this.#running?.radius;
  }

  /** The live sessions for RADIUS dynamic authorization (RFC 5176, issue 21). */
  radiusSessions(): DasSessionHandle[] {
    return pppDasSessions(this.#sessions, this.#running?.accounting, (id, reason) => this.disconnect(id, reason));
  }

  /** Answering sites: established while their user's session is up. */
  siteStates(): Array<{ name: string; state: string; rxPackets: number; txPackets: number; rxBytes: number; txBytes: number }> {
    return this.#sites.states();
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    const settings = config.listeners.sstp;
    this.#sites = new AnsweringSites(answeringSstpSites(config), this.#options.access, log, 'SSTP');
    this.#status = { state: 'starting' };
    const pool = this.#options.access.pools.get(settings.pool);
    if (!pool) return this.#unavailable(`the pool '${settings.pool}' does not exist`);
    // The WAN address as IKE binds it; all addresses while the WAN has none (TCP needs no source address).
    const host = this.#options.listenAddress ?? (this.#options.wanAddress ?? wanAddressNow)(config) ?? '0.0.0.0';
    // Dual stack (issue 24): the WAN's IPv6 address too; an IPv6-only WAN's TCP still answers on all IPv4 addresses (as with none).
    const host6 = this.#options.listenAddress === undefined ? this.#options.wanAddress6?.(config) : undefined;
    let hub: HubLease | undefined;
    let radius: ListenerRadius | undefined;
    try {
      radius = await openListenerRadius(config, 'sstp', (name) => this.#users(name), log, this.#options.stateDir, calledStationOf(host));
      const pki = loadOrCreatePki(this.#options.stateDir, config.certificates, log.child('pki'));
      hub = this.#options.access.acquireHub(config);
      const pipe = hub.pipe();
      this.#users = localUsers(config.users);
      const users: UserLookup = (name) => this.#users(name);
      const localAddress = config.system.lan.address.split('/')[0]!;
      // What every call shares, made once (issue 23: memory per call).
      const calls: CallContext = {
        pipe,
        pool,
        users,
        localAddress,
        dhcpInform: dhcpInformAnswer(config, settings.pool),
        mppe: settings.mppe === 'off' ? undefined : { mode: settings.mppe, strengths: [128], allowStateful: false },
        radius,
        lcp: { random: randomOf, auth: GATEWAY_AUTH_METHODS, mru: 1400 },
        pools: (name) => this.#options.access.pools.get(name),
        onSourceDrop: (family) => this.#count(`ppp.sourceDropped.ipv${family}`),
        siteSubnets: (user) => this.#sites.subnetsOf(user),
        started: (session) => this.#started(session),
        ended: (session, reason) => this.#ended(session, reason),
      };
      const listener = new SstpListener({
        host,
        ...(host6 ? { host6 } : {}),
        port: settings.port,
        certificatePem: pki.server.certificatePem,
        keyPem: pki.server.keyPem,
        chainPem: pki.server.acme ? [] : [pki.ca.certificatePem],
        logger: log,
        ...(this.#options.acmeAlpn ? { acmeAlpn: this.#options.acmeAlpn } : {}),
        ...(settings.limits ? { limits: sstpLimitsOf(settings.limits) } : {}),
        onCallsLimit: (peer) => this.#options.onCallFailed?.(peer, 'the calls limit is reached'),
        ...(settings.dataPath !== 'javascript' && driverHasSstp() ? { native: { hub: hub.hub, kernelTls: settings.kernelTls ?? true } } : {}),
        connection: {
          session: { randomBytes: (n) => randomBytes(n) },
          onClosedAfterTls: (peer) => this.#options.onClosedAfterTls?.(endpointText(peer)),
          onSetupAborted: (peer, reason) => this.#options.onCallFailed?.(endpointText(peer), reason),
          createLink: (io, peer) => this.#createSession(io, peer.address, calls),
        },
      });
      const bound = await listener.start();
      // RADIUS-authenticated sessions are accounted to the same servers (issue 21).
      this.#running = { listener, hub, host, host6, radius, accounting: radius?.accounting };
      const all = listener.addresses().map((a) => (a.family === 'IPv6' ? `[${a.address}]` : a.address)).join(' and ');
      this.#status = { state: 'running', detail: `TLS ${all}:${bound.port}, pool ${settings.pool}` };
      log.info('SSTP listening', { address: bound.address, ...(host6 ? { address6: host6 } : {}), port: bound.port, pool: settings.pool });
    } catch (error) {
      hub?.release();
      radius?.close();
      return this.#unavailable(error instanceof Error ? error.message : String(error));
    }
  }

  #createSession(io: SstpCallIo, peer: string, ctx: CallContext): PppLinkPort {
    // Issue 21: with RADIUS, MS-CHAPv2 checked there and EAP relayed there (never the local users' EAP).
    // The time a RADIUS server takes (a failover: 14 s) does not count against the client's handshake.
    const radius = ctx.radius;
    const watch = radius ? (waiting: boolean): void => io.authenticationWaiting(waiting) : undefined;
    const verifier = watch && radius?.verifier(peer, watch);
    const passwordVerifier = watch && radius?.passwordVerifier(peer, watch);
    const eapRadius = watch && radius?.eapPeer(peer, watch);
    const driver = io.driver;
    const data: DriverData | undefined = driver ? { path: driver, sources: undefined, carried: { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, dropSource: 0 } } : undefined;
    const session: PppSession = new PppSession({
      protocol: 'sstp',
      peer,
      logger: this.#options.logger,
      pipe: ctx.pipe,
      pool: ctx.pool,
      pools: ctx.pools,
      framedIpv6: this.#options.access.framedIpv6,
      onSourceDrop: ctx.onSourceDrop,
      link: {
        localAddress: ctx.localAddress,
        lcp: ctx.lcp,
        createAuthenticator: (method) => pppAuthenticatorFor(method, { users: ctx.users, random: randomOf, serverName: 'postern', ...(verifier ? { verifier } : {}), ...(passwordVerifier ? { passwordVerifier } : {}), ...(eapRadius ? { eapRadius } : {}), wake: () => session.wake() }),
        ...(ctx.mppe ? { mppe: ctx.mppe } : {}),
      },
      random: randomOf,
      // Windows' DHCPINFORM gets the pool's routes (the LAN by default), DNS and domain (issue 20).
      dhcpInform: ctx.dhcpInform,
      send: (frame) => io.sendFrame(frame),
      onAuthFailed: (user) => this.#options.onAuthFailure?.(user, peer),
      onSetupFailed: (failure) => this.#options.onSetupFailure?.(failure, peer),
      onAuthenticated: (_user, keys) => io.authenticated(keys?.hlak),
      siteSubnets: ctx.siteSubnets,
      ...(data ? { onNetworkUp: () => this.#carryInDriver(session, data), driverCounters: () => driverCounters(data) } : {}),
      onDead: (reason) => {
        this.#ended(session, reason);
        io.disconnect();
      },
    });
    this.#sessions.add(session);
    if (data) this.#driverData.set(session, data);
    return new SessionPort(session, ctx);
  }

  #started(session: PppSession): void {
    this.#options.onSession?.('up', session.info);
    void this.#running?.accounting?.start(session.info, () => session.info);
    this.#sites.started(session);
  }

  /**
   * Issue 23: IPCP (then IPV6CP) opened: the session's prefixes move to the driver, which carries its
   * IP from now on (started again with the new set when IPV6CP opens after IPCP).
   */
  #carryInDriver(session: PppSession, data: DriverData): void {
    const sources = session.routedPrefixes;
    if (sources.length === 0 || sources.join() === data.sources) return;
    const mppe = session.link.mppe !== undefined;
    const why = mppe ? 'MPPE inside SSTP is on (listeners.sstp.mppe)' : sources.length > MAX_SOURCES ? `${sources.length} prefixes, the driver takes ${MAX_SOURCES}` : undefined;
    let failed = why;
    if (failed === undefined) {
      const before = driverCounters(data); // a restart gives the driver's session fresh counters: what it carried is kept
      failed = data.path.start({ mtu: Math.max(576, Math.min(session.link.lcp.negotiated.peerMru, 4091)), sources });
      if (failed === undefined) Object.assign(data.carried, before);
    }
    if (failed === undefined) {
      data.sources = sources.join();
      this.#count('dataPath.started');
      return;
    }
    // The first refusal of this call is logged; its IP crosses JavaScript (the pipe routes, again if a path was there).
    if (data.sources !== 'javascript') this.#options.logger.info('SSTP call\'s IP stays in JavaScript', { session: session.info.id, peer: session.info.peer, why: failed });
    data.sources = 'javascript';
    this.#count('dataPath.javascript');
    session.reroute();
  }

  /** What an ended session carried stays in the status (`sstp.ended.*`): the driver's and JavaScript's packets, the driver's source drops. */
  #keepEndedCounts(session: PppSession): void {
    const data = this.#driverData.get(session);
    this.#driverData.delete(session);
    const add = (key: string, n: number) => (this.#pppCounters[`sstp.ended.${key}`] = (this.#pppCounters[`sstp.ended.${key}`] ?? 0) + n);
    const c = data ? driverCounters(data) : undefined;
    add('dataPath.packetsIn', c?.packetsIn ?? 0);
    add('dataPath.packetsOut', c?.packetsOut ?? 0);
    add('dataPath.bytesIn', c?.bytesIn ?? 0);
    add('dataPath.bytesOut', c?.bytesOut ?? 0);
    add('dataPath.dropSource', c?.dropSource ?? 0);
    add('javascriptPackets', session.javascriptPackets.in + session.javascriptPackets.out);
  }

  #count(what: string): void {
    const key = `sstp.${what}`;
    this.#pppCounters[key] = (this.#pppCounters[key] ?? 0) + 1;
  }

  /** What the driver carried and what crossed JavaScript, over the sessions up now (issue 23). */
  #dataPathCounters(): Record<string, number> {
    const out = { 'sstp.dataPath.sessions': 0, 'sstp.dataPath.packetsIn': 0, 'sstp.dataPath.packetsOut': 0, 'sstp.dataPath.bytesIn': 0, 'sstp.dataPath.bytesOut': 0, 'sstp.dataPath.dropSource': 0, 'sstp.javascriptPackets': 0 };
    for (const session of this.#sessions) {
      const data = this.#driverData.get(session);
      if (data) {
        const c = driverCounters(data);
        out['sstp.dataPath.sessions'] += data.sources !== undefined && data.sources !== 'javascript' ? 1 : 0;
        out['sstp.dataPath.packetsIn'] += c.packetsIn;
        out['sstp.dataPath.packetsOut'] += c.packetsOut;
        out['sstp.dataPath.bytesIn'] += c.bytesIn;
        out['sstp.dataPath.bytesOut'] += c.bytesOut;
        out['sstp.dataPath.dropSource'] += c.dropSource;
      }
      out['sstp.javascriptPackets'] += session.javascriptPackets.in + session.javascriptPackets.out;
    }
    return out;
  }

  #ended(session: PppSession, reason = 'ended'): void {
    if (!this.#sessions.delete(session)) return;
    this.#keepEndedCounts(session);
    this.#options.onSession?.('down', session.info);
    // Only sessions that were up (had their address) were started in accounting.
    if (session.ipv4) void this.#running?.accounting?.stop(session.info, reason);
    this.#sites.ended(session);
  }

  #unavailable(detail: string): void {
    this.#status = { state: 'unavailable', detail };
    this.#options.logger.error('SSTP is not available', { detail });
  }

  /** The gateway certificate changed on disk (ACME, issue 16): new connections get it, calls stay up. */
  reloadCertificate(config: PosternConfig): void {
    const listener = this.#running?.listener;
    if (!listener) return;
    const pki = loadOrCreatePki(this.#options.stateDir, config.certificates, this.#options.logger.child('pki'));
    listener.replaceCertificate(pki.server.certificatePem, pki.server.keyPem, pki.server.acme ? [] : [pki.ca.certificatePem]);
    this.#options.logger.info('SSTP serves a new certificate', { acme: pki.server.acme === true });
  }

  /** Users added, edited, disabled or removed: new logins see the new list; only the calls of users who lost access end. */
  #usersChanged(previous: PosternConfig, next: PosternConfig): void {
    this.#users = localUsers(next.users);
    const gone = usersLosingAccess(previous, next);
    const ended = [...this.#sessions].filter((s) => s.info.user !== undefined && gone.has(s.info.user));
    for (const s of ended) {
      this.#options.logger.info('ending the session of a user who lost access', { user: s.info.user, session: s.info.id });
      s.close('the user lost access');
    }
    this.#options.logger.info('SSTP took the new user list without a restart', { ended: ended.length, keptSessions: this.#sessions.size - ended.length });
  }

  /** A change of the gateway certificate alone (a new public name, ACME) keeps the calls up; anything else restarts SSTP. */
  async reconfigure(next: PosternConfig, previous?: PosternConfig): Promise<void> {
    if (this.#running && previous && onlyGatewayCertificateChanged(previous, next, sstpSlice)) return this.reloadCertificate(next);
    if (this.#running && previous && onlyUsersChanged(previous, next, sstpSlice)) return this.#usersChanged(previous, next);
    await this.stop();
    await this.start(next);
  }

  async stop(): Promise<void> {
    const r = this.#running;
    this.#running = undefined;
    if (!r) return void (this.#status = { state: 'stopped' });
    this.#status = { state: 'stopping' };
    // Stop records for the sessions still up, answered (or given up, 3 s at most) before RADIUS closes.
    const stops = [...this.#sessions].filter((s) => s.info.ipv4).map((s) => r.accounting?.stop(s.info, 'SSTP stopped'));
    await r.listener.stop();
    for (const s of [...this.#sessions]) {
      s.lowerDown('SSTP stopped');
      this.#ended(s);
    }
    if (stops.length > 0) await Promise.race([Promise.all(stops), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    r.radius?.close();
    r.hub.release();
    this.#status = { state: 'stopped' };
  }

  /** With the listener's counters while it runs (admission's refusals, evictions and timeouts, TLS failures). */
  status(): SubsystemStatus {
    const listener = this.#running?.listener;
    const radius = this.#running?.radius;
    return listener ? { ...this.#status, counters: { ...listener.counters(), ...this.#pppCounters, ...this.#dataPathCounters(), ...(radius ? flatRadiusCounters(radius.client.counters()) : {}) } } : this.#status;
  }
}

/** What a running listener's calls share (made once at start, not per call: issue 23). */
interface CallContext {
  readonly pipe: ReturnType<HubLease['pipe']>;
  readonly pool: NonNullable<ReturnType<AccessResources['pools']['get']>>;
  readonly users: UserLookup;
  readonly localAddress: string;
  readonly dhcpInform: ReturnType<typeof dhcpInformAnswer>;
  readonly mppe: MppePolicy | undefined;
  readonly radius: ListenerRadius | undefined;
  readonly lcp: PppSessionOptions['link']['lcp'];
  readonly pools: NonNullable<PppSessionOptions['pools']>;
  readonly onSourceDrop: NonNullable<PppSessionOptions['onSourceDrop']>;
  readonly siteSubnets: NonNullable<PppSessionOptions['siteSubnets']>;
  /** The session has its address (accounting, sites, the session hook). */
  readonly started: (session: PppSession) => void;
  readonly ended: (session: PppSession, reason: string) => void;
}

/** A call's PPP link as SstpConnection drives it: one object on a shared prototype. */
class SessionPort implements PppLinkPort {
  readonly #session: PppSession;
  readonly #ctx: CallContext;

  constructor(session: PppSession, ctx: CallContext) {
    this.#session = session;
    this.#ctx = ctx;
  }

  lowerUp(): void {
    this.#session.lowerUp();
  }

  receiveFrame(frame: Uint8Array): void {
    const before = this.#session.ipv4;
    this.#session.receiveFrame(frame);
    if (!before && this.#session.ipv4) this.#ctx.started(this.#session);
  }

  lowerDown(reason: string): void {
    this.#session.lowerDown(reason);
    this.#ctx.ended(this.#session, reason);
  }
}

const randomOf = (n: number): Uint8Array => randomBytes(n);

/** A session's IP in the driver: its path, the prefixes it carries ('javascript': refused), and what earlier paths carried. */
interface DriverData {
  readonly path: SstpDriverPath;
  sources: string | undefined;
  readonly carried: { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number; dropSource: number };
}

function driverCounters(data: DriverData): DriverData['carried'] {
  const c = data.carried;
  const d = data.path.counters();
  return d ? { bytesIn: c.bytesIn + d.bytesIn, bytesOut: c.bytesOut + d.bytesOut, packetsIn: c.packetsIn + d.packetsIn, packetsOut: c.packetsOut + d.packetsOut, dropSource: c.dropSource + d.dropSource } : { ...c };
}

/** The loaded driver has SSTP calls (issue 23); false without a driver. */
function driverHasSstp(): boolean {
  try {
    return typeof (loadDriver() as unknown as { sstpOpen?: unknown }).sstpOpen === 'function';
  } catch {
    return false;
  }
}

export const answeringSstpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'sstp' && !s.initiate && s.username !== undefined);

const sstpSlice = (c: PosternConfig) => ({ sstp: c.listeners.sstp, radius: c.radius, users: c.users, pools: c.pools, certificates: c.certificates, wan: c.system.wan, lan: c.system.lan, sites: answeringSstpSites(c) });

export function sstpSpec(create: () => SstpSubsystem): SubsystemSpec {
  return {
    name: 'sstp',
    wanted: (c) => c.listeners.sstp.enabled,
    slice: sstpSlice,
    create,
  };
}

/** An address and port as the doctor reads them: `192.0.2.1:443`, `[2001:db8::1]:443`. */
function endpointText(peer: { readonly address: string; readonly port: number }): string {
  return peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}

/** The configuration's limits as admission takes them (seconds there, milliseconds here). */
function sstpLimitsOf(config: SstpLimitsConfig): Partial<SstpLimits> {
  const { handshakeSeconds, ...counts } = config;
  return { ...counts, ...(handshakeSeconds !== undefined ? { handshakeTimeoutMs: handshakeSeconds * 1000 } : {}) };
}
