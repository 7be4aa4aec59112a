/*
 * L2TP in the running service (issue 20), as LNS: UDP 1701 on the WAN address, the tunnel table
 * (tunnel-table.ts) driven by its datagrams and one timer, a PPP session per L2TP session
 * authenticated against the local users, addresses from the shared pools, IP through the shared
 * TUN's pipe. No protocol decision is made here (STYLE.md rule 2).
 *
 * Where UDP 1701 arrives: with the IKEv1 transport-mode SA up, the data plane decrypts the client's
 * ESP and hands the rebuilt datagram up here tagged with the path it came in on (`ipsec.receive`,
 * ipsec-datagram.ts: the client's outer endpoint, whose SAs follow its rekeys, ike/l2tp-paths.ts),
 * never into the TUN; the tunnel table keys that peer as `address:port@path`, and its answers are
 * sealed in that path's newest SA (`ipsec.send`). So two clients behind one NAT (both
 * NAT:1701 once decrypted) each get their own tunnel, session and SA, and the IPsec-only check is
 * exact: a datagram is protected iff it came up tagged. The UDP socket sees plain L2TP alone, taken
 * only with `listeners.l2tp.allowPlain` (flagged insecure), otherwise dropped and counted.
 *
 * The PPP data path: once a session's IPCP (or IPV6CP) opens, its IP is framed and deframed in the
 * driver (`ipsec.pppData`, drivers/lib/ppp_data.c: PPP protocol field, L2TP data header, UDP 1701,
 * the path's transport SAs), only control frames coming up here; counted per session into its
 * info (API, MQTT, RADIUS). Plain L2TP, sequenced data (§5.4) and a driver without it keep the
 * JavaScript path: one frame per datagram through the pipe, as SSTP's.
 *
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import type { AddressPool } from '../pools/address-pool.ts';
import { localUsers } from '../access/local-users.ts';
import { onlyUsersChanged, usersLosingAccess } from '../access/user-changes.ts';
import type { UserLookup } from '../crypto/user-credential.ts';
import { listenerAuthMethods, pppAuthenticatorFor } from '../access/ppp-authenticators.ts';
import { AnsweringSites } from '../access/answering-sites.ts';
import { PppSession, dhcpInformAnswer, type PppSessionInfo, type PppSetupFailure } from '../access/ppp-session.ts';
import type { DasSessionHandle } from '../radius/das-sessions.ts';
import { pppDasSessions } from '../access/ppp-das.ts';
import { calledStationOf, openListenerRadius, type ListenerRadius } from '../auth/listener-radius.ts';
import { flatRadiusCounters } from '../radius/server-state.ts';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { wanAddressNow } from '../network/wan-network.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { Secret } from '../util/secret.ts';
import { L2TP_PORT } from './header.ts';
import { decodeIpsecDatagram, formatL2tpPeer, parseL2tpPeer, tunnelsOnPath } from './ipsec-datagram.ts';
import { L2tpTunnelTable, type TableAction } from './tunnel-table.ts';
import type { PppDataSessionSpec } from '../dataplane/native-ppp.ts';
import type { PppDataPath } from '../ike/l2tp-ppp-data.ts';

export interface L2tpSubsystemOptions {
  readonly logger: Logger;
  readonly access: AccessResources;
  /** Where the RADIUS accounting spool survives a restart; memory only when absent (tests). */
  readonly stateDir?: string;
  /** Overrides the listening address (tests). */
  readonly listenAddress?: string;
  /** The WAN address to bind (firmware/network); the box's own lookup when absent. */
  readonly wanAddress?: (config: PosternConfig) => string | undefined;
  /** And the WAN's IPv6 address (issue 24): UDP 1701 there too, for plain L2TP and its refusal. */
  readonly wanAddress6?: (config: PosternConfig) => string | undefined;
  /** L2TP inside the IKEv1 transport SAs (the IKE subsystem's data plane); without it only plain L2TP, if allowed. */
  readonly ipsec?: L2tpIpsecPath;
  readonly onSession?: (event: 'up' | 'down', info: PppSessionInfo) => void;
  readonly onAuthFailure?: (user: string | undefined, peer: string) => void;
  /** A tunnel that never came up, or plain L2TP where IPsec is required (the connection doctor): the client's address. */
  readonly onTunnelFailure?: (address: string, reason: string) => void;
  /** A session that ended before its network came up, for another reason than its login (the connection doctor). */
  readonly onSetupFailure?: (failure: PppSetupFailure, peer: string) => void;
}

/** Datagrams of the L2TP connection's transport SAs, each tagged with its client's path (`via`), and the way back through it. */
export interface L2tpIpsecPath {
  /** Where they go from now on (undefined: nowhere; they are then dropped and counted by the data plane's owner). */
  receive(handler: ((via: number, datagram: Buffer) => void) | undefined): void;
  /** One L2TP datagram from our `sourcePort` to the peer's `destinationPort`, sealed in the path's newest SA; false when none is left. */
  send(via: number, sourcePort: number, destinationPort: number, payload: Uint8Array): boolean;
  /** Issue 20: the session's IP framed and deframed in the driver on the path's SAs; undefined when it cannot (JavaScript keeps it). */
  pppData?(via: number, spec: PppDataSessionSpec): PppDataPath | undefined;
  /** Who hears that a path lost its last SA (DPD found the client dead, or it deleted them): paths are never reused. */
  gone?(handler: ((via: number) => void) | undefined): void;
}

/** Room for ESP in UDP (transport mode, up to SHA-1 and CBC padding), UDP, L2TP and PPP headers inside 1500. */
const L2TP_MRU = 1380;

interface Running {
  readonly socket: Socket;
  /** UDP 1701 on the WAN's IPv6 address, when it has one (issue 24). */
  readonly socket6: Socket | undefined;
  readonly table: L2tpTunnelTable;
  readonly hub: HubLease;
  /** The listener's pool: its use is shown with L2TP's counters, so a freed address can be seen. */
  readonly pool: AddressPool;
  readonly host: string;
  readonly allowPlain: boolean;
  readonly makeSession: (tunnelId: number, sessionId: number, peer: string) => PppSession;
  /** listeners.l2tp.auth radius or radius-then-local (issue 21): MS-CHAPv2 checked there, sessions accounted. */
  readonly radius: ListenerRadius | undefined;
  /** Answering L2TP sites by the user they log in as (issue 20). */
  readonly answering: AnsweringSites;
  timer: NodeJS.Timeout | undefined;
}

const key = (tunnelId: number, sessionId: number) => `${tunnelId}/${sessionId}`;

/** A session's IP in the driver (issue 20): the open path, the prefixes it took, and what closed paths carried. */
interface DataPathEntry {
  path: PppDataPath | undefined;
  sources: string;
  readonly carried: { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number };
}

function driverCounters(entry: DataPathEntry): DataPathEntry['carried'] {
  const s = entry.path?.stats();
  const c = entry.carried;
  return s ? { bytesIn: c.bytesIn + Number(s.rxBytes), bytesOut: c.bytesOut + Number(s.txBytes), packetsIn: c.packetsIn + Number(s.rxPackets), packetsOut: c.packetsOut + Number(s.txPackets) } : { ...c };
}

export class L2tpSubsystem implements Subsystem {
  readonly name = 'l2tp';
  readonly #options: L2tpSubsystemOptions;
  /** PPP sessions by `tunnelId/sessionId`. */
  readonly #sessions = new Map<string, PppSession>();
  /** Tunnels that came up: one that goes down without ever coming up is a failed attempt (the doctor). */
  readonly #tunnelsUp = new Set<number>();
  /** Their IP in the driver, by the same key (issue 20). */
  readonly #dataPaths = new Map<string, DataPathEntry>();
  #dataPathFallbackLogged = false;
  readonly counters: Record<string, number> = {};
  #status: SubsystemStatus = { state: 'stopped' };
  #running: Running | undefined;
  /** The users PPP authenticates against; swapped in place when only the users change (no restart). */
  #users: UserLookup = () => undefined;

  constructor(options: L2tpSubsystemOptions) {
    this.#options = options;
  }

  get boundAddress(): string | undefined {
    return this.#running?.host;
  }

  sessions(): PppSessionInfo[] {
    return [...this.#sessions.values()].map((s) => s.info);
  }

  /** Answering L2TP sites: established while their user's session is up (issue 20). */
  siteStates(): ReturnType<AnsweringSites['states']> {
    return this.#running?.answering.states() ?? [];
  }

  /** Management: end one session (LCP Terminate, then CDN; the tunnel follows after its grace). */
  disconnect(id: number, reason = 'disconnected by the administrator'): boolean {
    const session = [...this.#sessions.values()].find((s) => s.info.id === id);
    session?.close(reason);
    return session !== undefined;
  }

  /** The listener's RADIUS client and spool while it runs with RADIUS (the RADIUS page, issue 21). */
  radiusListener(): ListenerRadius | undefined {
    return this.#running?.radius;
  }

  /** The live sessions for RADIUS dynamic authorization (RFC 5176, issue 21). */
  radiusSessions(): DasSessionHandle[] {
    return pppDasSessions(this.#sessions.values(), this.#running?.radius?.accounting, (id, reason) => this.disconnect(id, reason));
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    const settings = config.listeners.l2tp;
    this.#status = { state: 'starting' };
    const pool = this.#options.access.pools.get(settings.pool);
    if (!pool) return this.#unavailable(`the pool '${settings.pool}' does not exist`);
    const host = this.#options.listenAddress ?? (this.#options.wanAddress ?? wanAddressNow)(config) ?? '0.0.0.0';
    let hub: HubLease | undefined;
    let socket: Socket | undefined;
    let socket6: Socket | undefined;
    let radius: ListenerRadius | undefined;
    try {
      hub = this.#options.access.acquireHub(config);
      const pipe = hub.pipe();
      this.#users = localUsers(config.users);
      const users: UserLookup = (name) => this.#users(name);
      radius = await openListenerRadius(config, 'l2tp', users, log, this.#options.stateDir, calledStationOf(host));
      const localAddress = config.system.lan.address.split('/')[0]!;
      const random = (n: number) => new Uint8Array(randomBytes(n));
      const secret = settings.secret ? new Secret<Uint8Array>(Buffer.from(settings.secret)) : undefined;
      const table = new L2tpTunnelTable({ hostName: config.system.hostname || 'postern', random, ...(secret ? { secret, hideAvps: true } : {}) });
      // Shared with the L2TP sites' dialers (l2tp-dialer.ts), each connected to its peer.
      socket = createSocket({ type: 'udp4', reuseAddr: true });
      // A site that dials in (issue 20): its networks are routed to the session its user logs in with.
      const answering = new AnsweringSites(answeringL2tpSites(config), this.#options.access, log, 'L2TP');
      await bind(socket, host);
      const host6 = this.#options.listenAddress === undefined ? this.#options.wanAddress6?.(config) : undefined;
      if (host6) await bind((socket6 = createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true })), host6);
      const s = socket;
      const makeSession = (tunnelId: number, sessionId: number, peer: string): PppSession => {
        // With RADIUS (issue 21), MS-CHAPv2 checked there and EAP relayed there (never the local users' EAP).
        const address = parseL2tpPeer(peer)?.address ?? peer;
        const verifier = radius?.verifier(address);
        const passwordVerifier = radius?.passwordVerifier(address);
        const carried: DataPathEntry = { path: undefined, sources: '', carried: { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 } };
        this.#dataPaths.set(key(tunnelId, sessionId), carried);
        const eapRadius = radius?.eapPeer(address);
        const session: PppSession = new PppSession({
          protocol: 'l2tp', peer: address, logger: log, pipe, pool, random, pools: (name) => this.#options.access.pools.get(name),
          framedIpv6: this.#options.access.framedIpv6, onSourceDrop: (family) => this.#count(`ppp.sourceDropped.ipv${family}`),
          // Windows' DHCPINFORM gets the pool's routes (the LAN by default) as classless routes, its DNS and domain.
          dhcpInform: dhcpInformAnswer(config, settings.pool),
          siteSubnets: (user) => answering.subnetsOf(user),
          link: {
            localAddress,
            lcp: { random, auth: listenerAuthMethods(settings.legacyAuth), mru: L2TP_MRU },
            createAuthenticator: (method) => pppAuthenticatorFor(method, { users, random, serverName: 'postern', ...(verifier ? { verifier } : {}), ...(passwordVerifier ? { passwordVerifier } : {}), ...(eapRadius ? { eapRadius } : {}), wake: () => session.wake() }),
          },
          send: (frame) => this.#sendData(tunnelId, sessionId, frame),
          onNetworkUp: () => this.#carryInDriver(tunnelId, sessionId, session, carried),
          driverCounters: () => driverCounters(carried),
          onAuthFailed: (user) => this.#options.onAuthFailure?.(user, address),
          onSetupFailed: (failure) => this.#options.onSetupFailure?.(failure, address),
          onDead: (reason) => {
            this.#ended(tunnelId, sessionId, reason);
            this.#act(table.handle({ kind: 'CmdCloseSession', tunnelId, sessionId, resultCode: { result: 3, error: 0, message: reason.slice(0, 100) } }, Date.now()));
          },
        });
        return session;
      };
      this.#running = { socket: s, socket6, table, hub, pool, host, allowPlain: settings.allowPlain === true, makeSession, radius, answering, timer: undefined };
      for (const listening of [s, socket6]) listening?.on('message', (bytes, from) => this.#receive(bytes, from.address, from.port));
      this.#options.ipsec?.receive((via, datagram) => this.#receiveProtected(via, datagram));
      this.#options.ipsec?.gone?.((via) => this.#pathGone(via));
      for (const listening of [s, socket6]) listening?.on('error', (error) => log.warn('L2TP socket error', { error: error.message }));
      this.#status = { state: 'running', detail: `UDP ${host}${host6 ? ` and [${host6}]` : ''}:${L2TP_PORT}, pool ${settings.pool}${settings.allowPlain ? ', plain L2TP allowed (insecure)' : ', inside IPsec only'}` };
      log.info('L2TP listening', { address: host, ...(host6 ? { address6: host6 } : {}), port: L2TP_PORT, pool: settings.pool, ipsecRequired: settings.allowPlain !== true, tunnelAuth: secret !== undefined });
      if (settings.allowPlain) log.warn('plain L2TP accepted outside IPsec: PPP crosses the network unencrypted', { setting: 'listeners.l2tp.allowPlain' });
    } catch (error) {
      socket?.close();
      socket6?.close();
      radius?.close();
      hub?.release();
      return this.#unavailable(error instanceof Error ? error.message : String(error));
    }
  }

  #count(what: string): void {
    this.counters[what] = (this.counters[what] ?? 0) + 1;
  }

  #receive(bytes: Buffer, address: string, port: number): void {
    const r = this.#running;
    if (!r) return;
    // What came inside IPsec comes up tagged (#receiveProtected): on the socket, L2TP is plain.
    if (!r.allowPlain) {
      this.#options.onTunnelFailure?.(address, 'L2TP outside IPsec, which the listener requires');
      return this.#count('refused outside IPsec');
    }
    this.#act(r.table.handle({ kind: 'RcvDatagram', peer: formatL2tpPeer({ address, port }), bytes }, Date.now()));
  }

  /** A datagram decrypted from the L2TP transport SA `via`: its peer is the SA's, whatever the NAT made of the address. */
  #receiveProtected(via: number, datagram: Buffer): void {
    const r = this.#running;
    if (!r) return;
    const d = decodeIpsecDatagram(datagram);
    if (!d || d.destinationPort !== L2TP_PORT) return this.#count('malformed from IPsec');
    this.#count('received inside IPsec');
    this.#act(r.table.handle({ kind: 'RcvDatagram', peer: formatL2tpPeer({ address: d.source, port: d.sourcePort, via }), bytes: d.payload }, Date.now()));
  }

  /**
   * The client's path lost its last SA: nothing of its tunnels can reach it again (a path is never
   * reused), so they close now, and their sessions with them (addresses back to the pool), instead
   * of after the HELLO and its retransmissions. A client that vanished is found so by DPD (issue 20).
   */
  #pathGone(via: number): void {
    const r = this.#running;
    if (!r) return;
    const tunnels = r.table.tunnels();
    for (const tunnelId of tunnelsOnPath(tunnels, via)) {
      const t = tunnels.find((x) => x.tunnelId === tunnelId)!;
      this.#count('closed: IPsec SA gone');
      this.#options.logger.info('L2TP tunnel closed: its IPsec SA is gone', { tunnel: tunnelId, peer: t.peer, sessions: t.sessions.length });
      this.#act(r.table.handle({ kind: 'CmdCloseTunnel', tunnelId, resultCode: { result: 2, error: 0, message: 'IPsec SA gone' } }, Date.now()));
    }
  }

  #act(actions: readonly TableAction[]): void {
    const r = this.#running;
    if (!r) return;
    const log = this.#options.logger;
    for (const a of actions) {
      switch (a.kind) {
        case 'Send': this.#send(a.peer, a.datagram); break;
        case 'Data': this.#data(a.tunnelId, a.sessionId, a.frame); break;
        case 'TunnelUp':
          this.#tunnelsUp.add(a.tunnelId);
          log.info('L2TP tunnel up', { tunnel: a.tunnelId, peer: a.peer, host: a.peerHostName });
          break;
        case 'TunnelDown':
          if (!this.#tunnelsUp.delete(a.tunnelId)) this.#options.onTunnelFailure?.(parseL2tpPeer(a.peer)?.address ?? a.peer, a.reason);
          log.info('L2TP tunnel down', { tunnel: a.tunnelId, peer: a.peer, reason: a.reason });
          break;
        case 'SessionUp': this.#sessionUp(r, a.tunnelId, a.sessionId, a.peer); break;
        case 'SessionDown': {
          const session = this.#sessions.get(key(a.tunnelId, a.sessionId));
          this.#ended(a.tunnelId, a.sessionId, `L2TP: ${a.reason}`);
          session?.lowerDown(`L2TP: ${a.reason}`);
          break;
        }
      }
    }
    this.#arm();
  }

  #sessionUp(r: Running, tunnelId: number, sessionId: number, peer: string): void {
    const session = r.makeSession(tunnelId, sessionId, peer);
    this.#sessions.set(key(tunnelId, sessionId), session);
    session.lowerUp();
  }

  /**
   * Issue 20: the session's IP framed and deframed in the driver on its client's path, with the
   * prefixes routed to it now (IPCP, then IPV6CP, each opens it again). Plain L2TP, numbered data,
   * MPPE and a driver without it stay on the JavaScript path (logged once).
   */
  #carryInDriver(tunnelId: number, sessionId: number, session: PppSession, entry: DataPathEntry): void {
    const r = this.#running;
    const d = r?.table.dataPath(tunnelId, sessionId);
    const peer = d && parseL2tpPeer(d.peer);
    if (!r || !d || peer?.via === undefined || d.sequencing || session.link.mppeActive) return;
    const sources = session.routedPrefixes;
    if (sources.length === 0 || sources.join() === entry.sources) return;
    this.#closeDataPath(entry); // first: its routes go before the new one takes them
    const mtu = Math.max(576, Math.min(session.link.lcp.negotiated.peerMru, 0xffff));
    const path = this.#options.ipsec?.pppData?.(peer.via, { tunnelId, sessionId, peerTunnelId: d.peerTunnelId, peerSessionId: d.peerSessionId, localPort: L2TP_PORT, peerPort: peer.port, mtu, sources });
    if (!path) {
      session.reroute();
      this.#count('data path in JavaScript');
      if (!this.#dataPathFallbackLogged) this.#options.logger.warn('the driver cannot carry L2TP\'s PPP data (an older driver, or no transport tunnel): JavaScript carries it', { tunnel: tunnelId, session: sessionId });
      this.#dataPathFallbackLogged = true;
      return;
    }
    entry.path = path;
    entry.sources = sources.join();
    this.#count('data path in the driver');
  }

  /** Its counts kept in the entry, the driver's session freed (its routes with it). */
  #closeDataPath(entry: DataPathEntry | undefined): void {
    if (!entry?.path) return;
    Object.assign(entry.carried, driverCounters(entry));
    entry.path.close();
    entry.path = undefined;
    entry.sources = '';
  }

  /** The session left the table (CDN either way); telemetry hears of it once. */
  #ended(tunnelId: number, sessionId: number, reason = 'ended'): void {
    this.#closeDataPath(this.#dataPaths.get(key(tunnelId, sessionId)));
    this.#dataPaths.delete(key(tunnelId, sessionId));
    const session = this.#sessions.get(key(tunnelId, sessionId));
    if (!session || !this.#sessions.delete(key(tunnelId, sessionId))) return;
    this.#running?.answering.ended(session);
    if (!session.info.ipv4) return;
    this.#options.onSession?.('down', session.info);
    // Only sessions that were up (had their address) were started in accounting.
    void this.#running?.radius?.accounting.stop(session.info, reason);
  }

  /** A PPP frame in; the session counts as up (API, telemetry) from the frame that gave it an address. */
  #data(tunnelId: number, sessionId: number, frame: Uint8Array): void {
    const session = this.#sessions.get(key(tunnelId, sessionId));
    if (!session) return;
    const before = session.ipv4;
    const entry = this.#dataPaths.get(key(tunnelId, sessionId));
    // The peer numbered its data (§5.4): ours must be numbered too, which the driver does not do.
    if (entry?.path && this.#running?.table.dataPath(tunnelId, sessionId)?.sequencing) (this.#closeDataPath(entry), session.reroute());
    session.receiveFrame(frame);
    if (before || !session.ipv4) return;
    this.#options.onSession?.('up', session.info);
    void this.#running?.radius?.accounting.start(session.info, () => session.info);
    this.#running?.answering.started(session);
  }

  #sendData(tunnelId: number, sessionId: number, frame: Uint8Array): void {
    const out = this.#running?.table.encapsulate(tunnelId, sessionId, frame);
    if (out) this.#send(out.peer, out.datagram);
  }

  /** Back the way the peer came: through its SA, or plain over the socket. */
  #send(peer: string, datagram: Uint8Array): void {
    const r = this.#running;
    const p = parseL2tpPeer(peer);
    if (!r || !p) return;
    const plain = p.address.includes(':') ? r.socket6 : r.socket;
    if (p.via === undefined) return plain ? void plain.send(datagram, p.port, p.address, (error) => error && this.#count('send failed')) : this.#count('send failed');
    if (!this.#options.ipsec?.send(p.via, L2TP_PORT, p.port, datagram)) this.#count('send failed: SA gone');
  }

  #arm(): void {
    const r = this.#running;
    if (!r) return;
    if (r.timer) clearTimeout(r.timer);
    r.timer = undefined;
    const at = r.table.nextTimeout();
    if (at === undefined) return;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      this.#act(r.table.handle({ kind: 'Timeout' }, Date.now()));
    }, Math.max(0, at - Date.now()));
    r.timer.unref();
  }

  #unavailable(detail: string): void {
    this.#status = { state: 'unavailable', detail };
    this.#options.logger.error('L2TP is not available', { detail });
  }

  /** A change of the users alone keeps every session up but those of users who lost access; anything else restarts L2TP. */
  async reconfigure(next: PosternConfig, previous?: PosternConfig): Promise<void> {
    if (this.#running && previous && onlyUsersChanged(previous, next, l2tpSlice)) {
      this.#users = localUsers(next.users);
      const gone = usersLosingAccess(previous, next);
      for (const s of this.#sessions.values()) if (s.info.user !== undefined && gone.has(s.info.user)) s.close('the user lost access');
      return;
    }
    await this.stop();
    await this.start(next);
  }

  /** Sessions end with a CDN and tunnels with a StopCCN, sent before the socket closes (no retransmission). */
  async stop(): Promise<void> {
    const r = this.#running;
    if (!r) return void (this.#status = { state: 'stopped' });
    this.#status = { state: 'stopping' };
    for (const t of r.table.tunnels()) this.#act(r.table.handle({ kind: 'CmdCloseTunnel', tunnelId: t.tunnelId, resultCode: { result: 6, error: 0, message: 'L2TP stopped' } }, Date.now()));
    this.#running = undefined;
    this.#options.ipsec?.receive(undefined);
    this.#options.ipsec?.gone?.(undefined);
    if (r.timer) clearTimeout(r.timer);
    // Stop records for the sessions still up, answered (or given up, 3 s at most) before RADIUS closes.
    const stops = [...this.#sessions.values()].filter((s) => s.info.ipv4).map((s) => r.radius?.accounting.stop(s.info, 'L2TP stopped'));
    for (const entry of this.#dataPaths.values()) this.#closeDataPath(entry);
    this.#dataPaths.clear();
    for (const [k, s] of [...this.#sessions]) {
      this.#sessions.delete(k);
      r.answering.ended(s);
      s.lowerDown('L2TP stopped');
    }
    if (r.radius && stops.length > 0) await Promise.race([Promise.all(stops), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    r.radius?.close();
    await new Promise<void>((resolve) => r.socket.close(() => resolve()));
    if (r.socket6) await new Promise<void>((resolve) => r.socket6!.close(() => resolve()));
    r.hub.release();
    this.#status = { state: 'stopped' };
  }

  /** Issue 20: what the driver carried and what crossed JavaScript, over the sessions up now. */
  #dataPathCounters(): Record<string, number> {
    const out = { 'l2tp.dataPath.sessions': 0, 'l2tp.dataPath.packetsIn': 0, 'l2tp.dataPath.packetsOut': 0, 'l2tp.dataPath.bytesIn': 0, 'l2tp.dataPath.bytesOut': 0, 'l2tp.dataPath.dropSource': 0, 'l2tp.javascriptPackets': 0 };
    for (const entry of this.#dataPaths.values()) {
      const c = driverCounters(entry);
      out['l2tp.dataPath.sessions'] += entry.path ? 1 : 0;
      out['l2tp.dataPath.packetsIn'] += c.packetsIn;
      out['l2tp.dataPath.packetsOut'] += c.packetsOut;
      out['l2tp.dataPath.bytesIn'] += c.bytesIn;
      out['l2tp.dataPath.bytesOut'] += c.bytesOut;
      out['l2tp.dataPath.dropSource'] += Number(entry.path?.stats()?.dropSource ?? 0);
    }
    for (const s of this.#sessions.values()) out['l2tp.javascriptPackets'] += s.javascriptPackets.in + s.javascriptPackets.out;
    return out;
  }

  status(): SubsystemStatus {
    const r = this.#running;
    if (!r) return this.#status;
    const prefixed = (p: string, c: Record<string, number>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [`${p}${k}`, v]));
    const pool = r.pool.stats();
    return { ...this.#status, counters: { 'l2tp.tunnels': r.table.size, 'l2tp.sessions': this.#sessions.size, 'l2tp.pool.leased': pool.leased, 'l2tp.pool.free': pool.free, ...this.#dataPathCounters(), ...prefixed('l2tp.', this.counters), ...prefixed('l2tp.table.', r.table.counters), ...(r.radius ? flatRadiusCounters(r.radius.client.counters()) : {}) } };
  }
}

function bind(socket: Socket, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(L2TP_PORT, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/** Sites that dial in over L2TP and log in as a local user (issue 20). */
const answeringL2tpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'l2tp' && !s.initiate && s.username !== undefined);

const l2tpSlice = (c: PosternConfig) => ({ l2tp: c.listeners.l2tp, radius: (c.listeners.l2tp.auth ?? 'local') === 'local' ? undefined : c.radius, sites: answeringL2tpSites(c), users: c.users, pools: c.pools, wan: c.system.wan, lan: c.system.lan, hostname: c.system.hostname });

export function l2tpSpec(create: () => L2tpSubsystem): SubsystemSpec {
  return { name: 'l2tp', wanted: (c) => c.listeners.l2tp.enabled, slice: l2tpSlice, create };
}
