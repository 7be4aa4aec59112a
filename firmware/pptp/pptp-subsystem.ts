/*
 * PPTP in the running service (issue 22), as server (PAC): TCP 1723 on the WAN address, one control
 * connection engine (control-connection.ts) per TCP connection, PPTP's enhanced GRE in the driver
 * (NativePptpGre: one raw socket for every call), and a PPP session per call against the local users:
 * MS-CHAPv2 and MPPE-128 stateless required unless `listeners.pptp` relaxes them (call-policy.ts), addresses from
 * `listeners.pptp.pool`, IP through the shared TUN's pipe. No protocol decision is made here
 * (STYLE.md rule 2).
 *
 * PPTP is insecure by design (MS-CHAPv2 falls to a DES search, so the MPPE keys follow): it is off
 * by default and flagged where it is turned on (config rules, the listeners API).
 *
 * The GRE peer of a call is the control connection's address (a GRE packet's source is never
 * trusted to set it); the driver drops GRE from any other address. PPP frames come up through the
 * GRE channel's batches into JavaScript. Once IPCP is open with stateless MPPE, the call's IP and
 * MPPE run in the driver (its PPP data path, drivers/lib/pptp_gre.h): the link hands its MPPE state
 * over and the session's prefixes lead from the hub to the call. Control frames (LCP, CCP with its
 * Reset-Requests, IPCP) still come up here. When the link changes under it (CCP renegotiated: new
 * keys; IPCP down) the data path stops, MPPE carries on here from the driver's state where the
 * ciphers are still the link's, and the session's routes come back to the pipe. Stateful MPPE
 * stays in JavaScript.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AccessResources, HubLease } from '../access/access-resources.ts';
import { AnsweringSites } from '../access/answering-sites.ts';
import { localUsers } from '../access/local-users.ts';
import { pppAuthenticatorFor } from '../access/ppp-authenticators.ts';
import { PppSession, dhcpInformAnswer, type PppSessionInfo, type PppSetupFailure } from '../access/ppp-session.ts';
import { onlyUsersChanged, usersLosingAccess } from '../access/user-changes.ts';
import type { DasSessionHandle } from '../radius/das-sessions.ts';
import { pppDasSessions } from '../access/ppp-das.ts';
import { calledStationOf, openListenerRadius, type ListenerRadius } from '../auth/listener-radius.ts';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import type { UserLookup } from '../crypto/user-credential.ts';
import { MAX_SOURCES } from '../dataplane/native-ppp.ts';
import { DECRYPTED_TAG, NativePptpGre } from '../dataplane/native-pptp.ts';
import { FsmState } from '../ppp/fsm.ts';
import type { MppeCiphers } from '../ppp/mppe/mppe-ciphers.ts';
import type { Logger } from '../log/logger.ts';
import { wanAddressNow } from '../network/wan-network.ts';
import { flatRadiusCounters } from '../radius/server-state.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { pptpCallPolicy } from './call-policy.ts';
import { CallIdAllocator, ConnectionLimits } from './call-ids.ts';
import { PptpControlConnection, type ConnectionAction } from './control-connection.ts';
import { PPTP_PORT } from './control-message.ts';

export interface PptpSubsystemOptions {
  readonly logger: Logger;
  readonly access: AccessResources;
  /** Where the RADIUS accounting spool survives a restart; memory only when absent (tests). */
  readonly stateDir?: string;
  /** Overrides the listening address (tests). */
  readonly listenAddress?: string;
  readonly wanAddress?: (config: PosternConfig) => string | undefined;
  readonly onSession?: (event: 'up' | 'down', info: PppSessionInfo) => void;
  readonly onAuthFailure?: (user: string | undefined, peer: string) => void;
  /** A session that ended before its network came up, for another reason than its login (the connection doctor). */
  readonly onSetupFailure?: (failure: PppSetupFailure, peer: string) => void;
  /** Control connections per source address (a TCP 1723 flood) and in all. */
  readonly limits?: { readonly perSource: number; readonly total: number; readonly callsPerConnection: number };
}

/** IP (20) + enhanced GRE with sequence and acknowledgement (16) + PPP (4) + MPPE (4) inside 1500, rounded down as pptpd's 1400-byte default. */
const PPTP_MRU = 1400;
/** Windows opens one call per control connection; pptp-linux's call manager puts every call to one server on one. */
const DEFAULT_LIMITS = { perSource: 32, total: 1024, callsPerConnection: 32 } as const;

interface Connection {
  readonly socket: Socket;
  readonly peer: string;
  readonly engine: PptpControlConnection;
  timer: NodeJS.Timeout | undefined;
}

interface Call {
  readonly connection: Connection;
  readonly session: PppSession;
  readonly data: CallData;
  admin: boolean;
}

/** A call's IP in the driver (issue 22): the ciphers handed over and the prefixes it took, and what closed data paths carried. */
interface CallData {
  path: { readonly handed: MppeCiphers; readonly sources: string } | undefined;
  readonly carried: { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number };
  /** Reads the open path's counters (the GRE channel's, by call ID). */
  stats: () => { rxBytes: bigint; txBytes: bigint; rxPackets: bigint; txPackets: bigint; dropSource: bigint } | undefined;
}

function driverCounters(data: CallData): CallData['carried'] {
  const s = data.path ? data.stats() : undefined;
  const c = data.carried;
  return s ? { bytesIn: c.bytesIn + Number(s.rxBytes), bytesOut: c.bytesOut + Number(s.txBytes), packetsIn: c.packetsIn + Number(s.rxPackets), packetsOut: c.packetsOut + Number(s.txPackets) } : { ...c };
}

interface Running {
  readonly server: Server;
  readonly gre: NativePptpGre;
  readonly hub: HubLease;
  readonly host: string;
  readonly callIds: CallIdAllocator;
  readonly limits: ConnectionLimits;
  readonly connections: Set<Connection>;
  readonly makeSession: (connection: Connection, callId: number, data: CallData) => PppSession;
  /** listeners.pptp.auth radius or radius-then-local (issue 21): MS-CHAPv2 checked there (MPPE keys from its MS-MPPE keys), sessions accounted. */
  readonly radius: ListenerRadius | undefined;
  /** PPTP sites this listener answers: their networks go to the call their user logs in with. */
  readonly answering: AnsweringSites;
}

export class PptpSubsystem implements Subsystem {
  readonly name = 'pptp';
  readonly #options: PptpSubsystemOptions;
  /** Calls by our Call ID (the GRE channel's tag). */
  readonly #calls = new Map<number, Call>();
  readonly counters: Record<string, number> = {};
  #status: SubsystemStatus = { state: 'stopped' };
  #running: Running | undefined;
  #users: UserLookup = () => undefined;
  #dataPathFallbackLogged = false;

  constructor(options: PptpSubsystemOptions) {
    this.#options = options;
  }

  get boundAddress(): string | undefined {
    return this.#running?.host;
  }

  siteStates(): ReturnType<AnsweringSites['states']> {
    return this.#running?.answering.states() ?? [];
  }

  sessions(): PppSessionInfo[] {
    return [...this.#calls.values()].map((c) => c.session.info);
  }

  /** Management: LCP Terminate, then a CDN (Admin Shutdown) when PPP is down. */
  disconnect(id: number, reason = 'disconnected by the administrator'): boolean {
    const [callId, call] = [...this.#calls].find(([, c]) => c.session.info.id === id) ?? [];
    if (callId === undefined || !call) return false;
    call.admin = true;
    call.session.close(reason);
    this.#checkDataPath(callId, call);
    return true;
  }

  /** The listener's RADIUS client and spool while it runs with RADIUS (the RADIUS page, issue 21). */
  radiusListener(): ListenerRadius | undefined {
    return this.#running?.radius;
  }

  /** The live sessions for RADIUS dynamic authorization (RFC 5176, issue 21). */
  radiusSessions(): DasSessionHandle[] {
    return pppDasSessions([...this.#calls.values()].map((c) => c.session), this.#running?.radius?.accounting, (id, reason) => this.disconnect(id, reason));
  }

  async start(config: PosternConfig): Promise<void> {
    const log = this.#options.logger;
    const settings = config.listeners.pptp;
    this.#status = { state: 'starting' };
    const pool = this.#options.access.pools.get(settings.pool);
    if (!pool) return this.#unavailable(`the pool '${settings.pool}' does not exist`);
    const host = this.#options.listenAddress ?? (this.#options.wanAddress ?? wanAddressNow)(config) ?? '0.0.0.0';
    const limits = this.#options.limits ?? DEFAULT_LIMITS;
    let hub: HubLease | undefined;
    let gre: NativePptpGre | undefined;
    let server: Server | undefined;
    let radius: ListenerRadius | undefined;
    try {
      hub = this.#options.access.acquireHub(config);
      const pipe = hub.pipe();
      this.#users = localUsers(config.users);
      const users: UserLookup = (name) => this.#users(name);
      radius = await openListenerRadius(config, 'pptp', users, log, this.#options.stateDir, calledStationOf(host));
      const localAddress = config.system.lan.address.split('/')[0]!;
      const random = (n: number) => new Uint8Array(randomBytes(n));
      const answering = new AnsweringSites(answeringPptpSites(config), this.#options.access, log, 'PPTP');
      const policy = pptpCallPolicy(settings);
      gre = NativePptpGre.open(host, (batch) => this.#frames(batch));
      server = createServer((socket) => this.#accept(socket));
      await listen(server, host);
      const makeSession = (connection: Connection, callId: number, data: CallData): PppSession => {
        const verifier = radius?.verifier(connection.peer);
        const passwordVerifier = radius?.passwordVerifier(connection.peer);
        const eapRadius = radius?.eapPeer(connection.peer);
        const session: PppSession = new PppSession({
          protocol: 'pptp', peer: connection.peer, logger: log, pipe, pool, random, pools: (name) => this.#options.access.pools.get(name),
          framedIpv6: this.#options.access.framedIpv6, onSourceDrop: (family) => this.#count(`ppp.sourceDropped.ipv${family}`),
          siteSubnets: (user) => answering.subnetsOf(user),
          dhcpInform: dhcpInformAnswer(config, settings.pool),
          link: {
            localAddress,
            // MS-CHAPv2 and MPPE-128 stateless required unless the settings relax them (call-policy.ts).
            lcp: { random, auth: policy.auth, mru: PPTP_MRU },
            createAuthenticator: (method) => (policy.auth.includes(method) ? pppAuthenticatorFor(method, { users, random, serverName: 'postern', ...(verifier ? { verifier } : {}), ...(passwordVerifier ? { passwordVerifier } : {}), ...(eapRadius ? { eapRadius } : {}), wake: () => session.wake() }) : undefined),
            mppe: policy.mppe,
          },
          send: (frame) => this.#sendFrame(callId, frame),
          onNetworkUp: () => this.#carryInDriver(callId),
          driverCounters: () => driverCounters(data),
          sendIp: (packet) => this.#running?.gre.sendIp(callId, packet) ?? false,
          onAuthFailed: (user) => {
            this.#count('authentication failures');
            this.#options.onAuthFailure?.(user, connection.peer);
          },
          onSetupFailed: (failure) => this.#options.onSetupFailure?.(failure, connection.peer),
          onDead: (reason) => {
            const call = this.#calls.get(callId);
            this.#ended(callId, reason);
            this.#drive(connection, { kind: 'CmdCloseCall', callId, reason, admin: call?.admin === true });
          },
        });
        return session;
      };
      this.#running = { server, gre, hub, host, callIds: new CallIdAllocator(random), limits: new ConnectionLimits(limits.perSource, limits.total), connections: new Set(), makeSession, radius, answering };
      this.#status = { state: 'running', detail: `TCP ${host}:${PPTP_PORT} and GRE, IPv4 only (no PPTP client dials over IPv6), pool ${settings.pool} (insecure: MS-CHAPv2 + MPPE)` };
      log.info('PPTP listening', { address: host, port: PPTP_PORT, pool: settings.pool, auth: settings.auth ?? 'local', mppe: settings.mppe ?? 'stateless', methods: policy.auth });
      log.warn('PPTP is on: MS-CHAPv2 and MPPE can be broken offline; use it only for legacy clients', { setting: 'listeners.pptp.enabled' });
    } catch (error) {
      server?.close();
      gre?.close();
      radius?.close();
      hub?.release();
      return this.#unavailable(error instanceof Error ? error.message : String(error));
    }
  }

  #count(what: string): void {
    this.counters[what] = (this.counters[what] ?? 0) + 1;
  }

  #accept(socket: Socket): void {
    const r = this.#running;
    const peer = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!r || !r.limits.admit(peer)) {
      this.#count('connections refused (limit)');
      socket.destroy();
      return;
    }
    const engine = new PptpControlConnection({ hostName: 'postern', callIds: r.callIds, maxCalls: this.#options.limits?.callsPerConnection ?? DEFAULT_LIMITS.callsPerConnection }, Date.now());
    const connection: Connection = { socket, peer, engine, timer: undefined };
    r.connections.add(connection);
    socket.setNoDelay(true);
    socket.on('data', (bytes) => this.#drive(connection, { kind: 'RcvBytes', bytes }));
    socket.on('error', () => this.#count('TCP errors'));
    socket.on('close', () => {
      this.#drive(connection, { kind: 'TransportClosed' });
      if (r.connections.delete(connection)) r.limits.release(peer);
      if (connection.timer) clearTimeout(connection.timer);
    });
    this.#arm(connection);
  }

  #drive(connection: Connection, event: Parameters<PptpControlConnection['handle']>[0]): void {
    this.#act(connection, connection.engine.handle(event, Date.now()));
  }

  #act(connection: Connection, actions: readonly ConnectionAction[]): void {
    const log = this.#options.logger;
    for (const a of actions) {
      switch (a.kind) {
        case 'Send': connection.socket.write(a.bytes); break;
        case 'CallUp': this.#callUp(connection, a.callId, a.peerCallId); break;
        case 'CallDown': {
          const call = this.#calls.get(a.callId);
          this.#ended(a.callId, `PPTP: ${a.reason}`);
          call?.session.lowerDown(`PPTP: ${a.reason}`);
          break;
        }
        case 'LinkInfo': log.debug('PPTP Set-Link-Info', { callId: a.callId, sendAccm: a.sendAccm, receiveAccm: a.receiveAccm }); break;
        case 'Counted': this.#count(a.what.replace(/:.*$/, '')); break;
        case 'Close':
          // Connections that never sent SCCRQ (a flood's) are counted, not logged one by one.
          log[connection.engine.started ? 'info' : 'debug']('PPTP control connection closed', { peer: connection.peer, host: connection.engine.peerHostName, reason: a.reason });
          connection.socket.destroySoon();
          break;
      }
    }
    this.#arm(connection);
  }

  #callUp(connection: Connection, callId: number, peerCallId: number): void {
    const r = this.#running;
    if (!r) return;
    try {
      r.gre.addCall(callId, peerCallId, connection.peer, callId);
    } catch (error) {
      this.#count('GRE call refused');
      log(this.#options.logger, error);
      this.#drive(connection, { kind: 'CmdCloseCall', callId, reason: 'the GRE channel refused the call' });
      return;
    }
    const gre = r.gre;
    const data: CallData = { path: undefined, carried: { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 }, stats: () => gre.dataStats(callId) };
    const session = r.makeSession(connection, callId, data);
    this.#calls.set(callId, { connection, session, data, admin: false });
    this.#options.logger.info('PPTP call up', { peer: connection.peer, host: connection.engine.peerHostName, callId, peerCallId });
    session.lowerUp();
  }

  /** The call left the engine or PPP ended: GRE forgets it, telemetry (and RADIUS accounting) hear of it once. */
  #ended(callId: number, reason: string): void {
    const call = this.#calls.get(callId);
    if (!call || !this.#calls.delete(callId)) return;
    this.#stopDataPath(callId, call, false);
    this.#running?.gre.removeCall(callId);
    this.#running?.answering.ended(call.session);
    if (!call.session.info.ipv4) return;
    this.#options.onSession?.('down', call.session.info);
    // Only sessions that were up (had their address) were started in accounting.
    void this.#running?.radius?.accounting.stop(call.session.info, reason);
  }

  /**
   * Issue 22: the call's IP and MPPE in the driver, with the prefixes routed to the session now (IPCP,
   * then IPV6CP, each opens it again). No MPPE, stateful MPPE and an older driver stay here.
   */
  #carryInDriver(callId: number): void {
    const r = this.#running;
    const call = this.#calls.get(callId);
    if (!r || !call) return;
    const session = call.session;
    const sources = session.routedPrefixes;
    if (sources.length === 0 || sources.join() === call.data.path?.sources) return;
    this.#stopDataPath(callId, call, true); // first: its routes go before the new one takes them
    const mppe = session.link.mppe;
    const handover = sources.length <= MAX_SOURCES && r.gre.dataPathAvailable ? mppe?.handOver() : undefined;
    // The peer's MRU holds MPPE's header and protocol field (4 bytes) before the IP.
    const rc = mppe && handover ? r.gre.startData(callId, { mtu: Math.max(576, Math.min(session.link.lcp.negotiated.peerMru, 0xffff) - 4), sources }, r.hub.hub, handover) : -95;
    if (rc !== 0) {
      if (mppe && handover) mppe.takeBack(handover);
      this.#count('data path in JavaScript');
      if (!this.#dataPathFallbackLogged) this.#options.logger.info('PPTP call\'s IP stays in JavaScript', { callId, why: !mppe ? 'no MPPE' : rc === -95 ? 'stateful MPPE, too many prefixes, or an older driver' : `the driver refused (errno ${-rc})` });
      this.#dataPathFallbackLogged = true;
      return;
    }
    call.data.path = { handed: mppe!, sources: sources.join() };
    this.#count('data path in the driver');
  }

  /** Its counts kept, the driver's data path gone; MPPE resumes here from the driver's state (where the link still has those ciphers) and the pipe takes the routes back. */
  #stopDataPath(callId: number, call: Call, reroute: boolean): void {
    const path = call.data.path;
    if (!path) return;
    Object.assign(call.data.carried, driverCounters(call.data));
    call.data.path = undefined;
    const back = this.#running?.gre.stopData(callId);
    if (back && call.session.link.mppe === path.handed && !path.handed.takeBack(back)) this.#count('MPPE state not taken back');
    if (reroute) call.session.reroute();
  }

  /**
   * After each frame: the link moved under the data path (CCP opened again with new keys, IPCP
   * down, LCP closing): stop it; or CCP opened after IPCP (either may come first): start it.
   */
  #checkDataPath(callId: number, call: Call): void {
    const path = call.data.path;
    const link = call.session.link;
    const ipcpOpen = link.ipcp.state === FsmState.Opened;
    if (path && (link.mppe !== path.handed || !ipcpOpen)) this.#stopDataPath(callId, call, true);
    else if (!path && ipcpOpen && link.mppe && !link.mppe.inDriver && link.mppe.encryptor.state && this.#running?.gre.dataPathAvailable) this.#carryInDriver(callId);
  }

  /** PPP frames from the GRE channel, tagged with our Call ID (and DECRYPTED_TAG for what the driver decrypted); the session counts as up from the frame that gave it an address. */
  #frames(batch: Array<[number, Buffer]>): void {
    for (const [tag, frame] of batch) {
      const callId = tag & 0xffff;
      const call = this.#calls.get(callId);
      if (!call) {
        this.#count('frames for no call');
        continue;
      }
      const before = call.session.ipv4;
      if ((tag & DECRYPTED_TAG) !== 0) call.session.receiveDecrypted(frame);
      else call.session.receiveFrame(frame);
      this.#checkDataPath(callId, call);
      if (before || !call.session.ipv4) continue;
      this.#options.onSession?.('up', call.session.info);
      this.#running?.answering.started(call.session);
      void this.#running?.radius?.accounting.start(call.session.info, () => call.session.info);
    }
  }

  #sendFrame(callId: number, frame: Uint8Array): void {
    if (this.#running?.gre.send(callId, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)) === false) this.#count('GRE send failed');
  }

  #arm(connection: Connection): void {
    if (connection.timer) clearTimeout(connection.timer);
    connection.timer = undefined;
    const at = connection.engine.nextTimeout();
    if (at === undefined) return;
    connection.timer = setTimeout(() => {
      connection.timer = undefined;
      this.#drive(connection, { kind: 'Timeout' });
    }, Math.max(0, at - Date.now()));
    connection.timer.unref();
  }

  #unavailable(detail: string): void {
    this.#status = { state: 'unavailable', detail };
    this.#options.logger.error('PPTP is not available', { detail });
  }

  /** A change of the users alone keeps every call up but those of users who lost access; anything else restarts PPTP. */
  async reconfigure(next: PosternConfig, previous?: PosternConfig): Promise<void> {
    if (this.#running && previous && onlyUsersChanged(previous, next, pptpSlice)) {
      this.#users = localUsers(next.users);
      const gone = usersLosingAccess(previous, next);
      for (const c of this.#calls.values()) if (c.session.info.user !== undefined && gone.has(c.session.info.user)) c.session.close('the user lost access');
      return;
    }
    await this.stop();
    await this.start(next);
  }

  /** Every call its Stop record (awaited, 3 s at most) and PPP down; every connection a StopCCRQ (not awaited); then the sockets close. */
  async stop(): Promise<void> {
    const r = this.#running;
    if (!r) return void (this.#status = { state: 'stopped' });
    this.#status = { state: 'stopping' };
    const stops: Array<Promise<unknown> | undefined> = [];
    for (const [callId, call] of [...this.#calls]) {
      this.#calls.delete(callId);
      this.#stopDataPath(callId, call, false);
      r.gre.removeCall(callId);
      r.answering.ended(call.session);
      if (call.session.info.ipv4) {
        this.#options.onSession?.('down', call.session.info);
        stops.push(r.radius?.accounting.stop(call.session.info, 'PPTP stopped'));
      }
      call.session.lowerDown('PPTP stopped');
    }
    for (const c of r.connections) this.#drive(c, { kind: 'CmdStop', reason: 'PPTP stopped' });
    this.#running = undefined;
    if (r.radius && stops.length > 0) await Promise.race([Promise.all(stops), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    r.radius?.close();
    for (const c of r.connections) {
      if (c.timer) clearTimeout(c.timer);
      c.socket.destroySoon();
    }
    await new Promise<void>((resolve) => r.server.close(() => resolve()));
    r.gre.close();
    r.hub.release();
    this.#status = { state: 'stopped' };
  }

  /** Issue 22: what the driver carried and what crossed JavaScript, over the calls up now. */
  #dataPathCounters(): Record<string, number> {
    const out = { 'pptp.dataPath.sessions': 0, 'pptp.dataPath.packetsIn': 0, 'pptp.dataPath.packetsOut': 0, 'pptp.dataPath.bytesIn': 0, 'pptp.dataPath.bytesOut': 0, 'pptp.dataPath.dropSource': 0, 'pptp.javascriptPackets': 0 };
    for (const call of this.#calls.values()) {
      const c = driverCounters(call.data);
      out['pptp.dataPath.sessions'] += call.data.path ? 1 : 0;
      out['pptp.dataPath.packetsIn'] += c.packetsIn;
      out['pptp.dataPath.packetsOut'] += c.packetsOut;
      out['pptp.dataPath.bytesIn'] += c.bytesIn;
      out['pptp.dataPath.bytesOut'] += c.bytesOut;
      out['pptp.dataPath.dropSource'] += Number(call.data.path ? call.data.stats()?.dropSource ?? 0 : 0);
      out['pptp.javascriptPackets'] += call.session.javascriptPackets.in + call.session.javascriptPackets.out;
    }
    return out;
  }

  status(): SubsystemStatus {
    const r = this.#running;
    if (!r) return this.#status;
    const gre = r.gre.stats();
    const greCounters = gre ? Object.fromEntries(Object.entries(gre).filter(([, v]) => typeof v === 'bigint').map(([k, v]) => [`pptp.gre.${k}`, Number(v)])) : {};
    return { ...this.#status, counters: { 'pptp.connections': r.connections.size, 'pptp.sessions': this.#calls.size, ...this.#dataPathCounters(), ...Object.fromEntries(Object.entries(this.counters).map(([k, v]) => [`pptp.${k}`, v])), ...greCounters, ...(r.radius ? flatRadiusCounters(r.radius.client.counters()) : {}) } };
  }
}

function log(logger: Logger, error: unknown): void {
  logger.warn('PPTP call could not start', { error: error instanceof Error ? error.message : String(error) });
}

function listen(server: Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(PPTP_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const answeringPptpSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'pptp' && !s.initiate && s.username !== undefined);

const pptpSlice = (c: PosternConfig) => ({ pptp: c.listeners.pptp, sites: answeringPptpSites(c), radius: (c.listeners.pptp.auth ?? 'local') === 'local' ? undefined : c.radius, users: c.users, pools: c.pools, wan: c.system.wan, lan: c.system.lan });

export function pptpSpec(create: () => PptpSubsystem): SubsystemSpec {
  return { name: 'pptp', wanted: (c) => c.listeners.pptp.enabled, slice: pptpSlice, create };
}
