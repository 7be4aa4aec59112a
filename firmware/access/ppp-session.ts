/*
 * The I/O shell of one PPP session on the gateway, whatever carries it (SSTP now; L2TP and PPTP
 * later): the timer of its PppLink, its address from the shared pools, its route on the shared TUN's
 * pipe, and IP packets between the two. Protocol decisions stay in PppLink (STYLE.md rule 2).
 */
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { AddressPool } from '../pools/address-pool.ts';
import { encodePppFrame, PppProtocol } from '../ppp/frame.ts';
import { earliest, PppLink, type AuthKeys, type LinkAction, type PppLinkOptions } from '../ppp/link.ts';
import { insecureAuthMethod } from './ppp-authenticators.ts';
import type { PipeDispatcher } from './pipe-dispatcher.ts';
import { PppIpv6, type Ipv6Assignment } from './ppp-ipv6.ts';
import type { FramedIpv6Prefixes } from './framed-ipv6.ts';
import { answerDhcpInform, readDhcpInform, type InformAnswer } from './dhcp-inform.ts';
import type { Lease } from '../pools/address-pool.ts';
import type { SessionAuthorization } from '../radius/session-authorization.ts';
import type { SessionChange } from '../radius/das-engine.ts';
import { ipv6Text, parseIp, parsePrefix, prefixContains, type ParsedPrefix } from '../util/ip.ts';

export interface PppSessionInfo {
  readonly id: number;
  readonly protocol: 'sstp' | 'l2tp' | 'pptp';
  readonly peer: string;
  readonly user: string | undefined;
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
  /** The session's own /64 (issue 20: any source in it is the session's); absent when it has a /128 only. */
  readonly ipv6Prefix?: string;
  readonly since: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** Class attributes of the RADIUS Access-Accept, for every accounting record (RFC 2865 §5.25). */
  readonly class?: readonly Uint8Array[];
  /** The server's Acct-Interim-Interval, as sent. */
  readonly interimSeconds?: number;
  /** The RADIUS server that accepted it; absent: the local users. */
  readonly radiusServer?: string;
}

/** What a pool's PPP clients get for a DHCPINFORM: its routes (the LAN when it names none), its DNS and domain. */
export function dhcpInformAnswer(config: PosternConfig, poolName: string): NonNullable<PppSessionOptions['dhcpInform']> {
  const pool = config.pools.find((p) => p.name === poolName);
  const routes = pool?.routes?.length ? pool.routes : [config.system.lan.address];
  return { routes, dns: pool?.dns ?? [], ...(pool?.domain ? { domain: pool.domain } : {}) };
}

export interface PppSetupFailure {
  readonly stage: 'ppp-lcp' | 'ppp-ncp';
  readonly reason: string;
  readonly heard: boolean;
  readonly user: string | undefined;
}

export interface PppSessionOptions {
  readonly protocol: PppSessionInfo['protocol'];
  readonly peer: string;
  readonly logger: Logger;
  readonly pipe: PipeDispatcher;
  readonly pool: AddressPool;
  /** The configured pools by name, for a RADIUS Framed-Pool; a Framed-Pool is refused without it. */
  readonly pools?: (name: string) => AddressPool | undefined;
  /** LCP, authentication and the gateway's own IPCP address; allocation is this shell's. */
  readonly link: Omit<PppLinkOptions, 'ipcp'> & { readonly localAddress: string };
  /** A PPP frame to the lower layer. */
  readonly send: (frame: Uint8Array) => void;
  readonly onAuthenticated?: (user: string, keys: AuthKeys | undefined) => void;
  readonly onAuthFailed?: (user: string | undefined) => void;
  /**
   * The session ended before its network came up, for a reason other than a refused login or the
   * gateway closing it (the connection doctor, issue 17): `stage` says whether the client had
   * authenticated; `heard` whether a single PPP frame ever came from it.
   */
  readonly onSetupFailed?: (failure: PppSetupFailure) => void;
  /** The session is over: the lower layer may close. */
  readonly onDead: (reason: string) => void;
  readonly now?: () => number;
  /** A site-to-site peer's subnets (by the user it authenticated as): routed to the session, allowed as sources. */
  readonly siteSubnets?: (user: string) => readonly string[];
  /** Randomness for IPV6CP's interface identifier (IPv6 runs when the pool has an IPv6 prefix). */
  readonly random?: (n: number) => Uint8Array;
  /** A packet from the client dropped for its source (outside the session's addresses): the listener counts these. */
  readonly onSourceDrop?: (family: 4 | 6) => void;
  /** The /64s RADIUS servers gave sessions (Framed-IPv6-Prefix), shared by every PPP protocol; such a prefix is refused without it. */
  readonly framedIpv6?: FramedIpv6Prefixes;
  /** Issue 20: what a DHCPINFORM from the client is answered with (routes 121/249, DNS, domain); not answered when absent. */
  readonly dhcpInform?: Omit<InformAnswer, 'serverAddress'>;
  /** Issue 20: IPCP or IPV6CP opened (its routes are in place): the lower layer may carry the IP in the driver now. */
  readonly onNetworkUp?: () => void;
  /** Issue 22: the gateway's own IP to the peer (DHCPINFORM answers, adverts) while the lower layer's driver holds MPPE; false: not carried. */
  readonly sendIp?: (packet: Uint8Array) => boolean;
  /** What the driver carried for the session (issue 20), added to its own counts for the API, MQTT and RADIUS. */
  readonly driverCounters?: () => { readonly bytesIn: number; readonly bytesOut: number; readonly packetsIn: number; readonly packetsOut: number } | undefined;
}

export class PppSession {
  readonly link: PppLink;
  readonly #options: PppSessionOptions;
  readonly #now: () => number;
  readonly #since: number;
  readonly #tag: number;
  #timer: NodeJS.Timeout | undefined;
  /** When #timer fires (absent: no timer). */
  #timerAt: number | undefined;
  #ipv4: string | undefined;
  #lease: Lease | undefined;
  /** The name the lease is held under in the pool: the user, or `user#n` beside the user's other sessions. */
  #leaseIdentity: string | undefined;
  /** The pool the lease came from: the listener's, or the RADIUS Framed-Pool's. */
  #pool: AddressPool | undefined;
  readonly #ipv6: PppIpv6 | undefined;
  /** What the session may use (a /64, or the /128), decided once on first use; null: none (refused). */
  #ipv6Assignment: Ipv6Assignment | null | undefined;
  /** The Framed-IPv6-Prefix claimed for this session, given back when it ends. */
  #framedIpv6: string | undefined;
  #ipv6Routed = false;
  #siteSubnets: ParsedPrefix[] = [];
  #siteSubnetTexts: readonly string[] = [];
  #bytesIn = 0;
  #bytesOut = 0;
  #packetsIn = 0;
  #packetsOut = 0;
  /** From the RADIUS Access-Accept: a fixed address, time limits, Class. */
  #authorization: SessionAuthorization | undefined;
  /** When Session-Timeout counts from: authentication, or the last CoA that changed it (RFC 5176). */
  #sessionTimeoutFrom = 0;
  #lastFromPeer = 0;
  #dead = false;
  #closing = false;
  /** For the doctor: any frame from the peer, authenticated, login refused, IPCP/IPV6CP up. */
  #heard = false;
  #authenticated = false;
  #authRefused = false;
  #networkUp = false;

  constructor(options: PppSessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#since = this.#now();
    this.#tag = options.pipe.register((packet) => this.#fromTun(packet));
    const link = options.link;
    const localAddress = link.localAddress;
    this.#ipv6 = options.pool.hasIpv6 && options.random ? new PppIpv6({ assignment: () => this.#assignIpv6(), dns: options.pool.dns, random: options.random, mtu: link.lcp.mru ?? 1500 }) : undefined;
    const ipv6cp = this.#ipv6?.ncp ?? link.ipv6cp;
    // Named field by field: spreading an object that holds functions gives the copy a hidden class of its own (issue 23).
    this.link = new PppLink({
      lcp: link.lcp,
      createAuthenticator: link.createAuthenticator,
      ...(link.addressControl !== undefined ? { addressControl: link.addressControl } : {}),
      ...(link.mppe ? { mppe: link.mppe } : {}),
      ...(ipv6cp ? { ipv6cp } : {}),
      ipcp: {
        localAddress,
        allocate: () => {
          const lease = this.#allocate();
          if (!lease) return undefined;
          // The server's MS-Primary/Secondary-DNS-Server over the pool's (RFC 2548 §2.1.10).
          const [dns1, dns2] = this.#authorization?.dnsServers ?? this.#pool?.dns ?? options.pool.dns;
          return { ip: lease.ipv4, ...(dns1 ? { dns1 } : {}), ...(dns2 ? { dns2 } : {}) };
        },
      },
    });
  }

  /**
   * The user's lease, once: NCPs run after authentication, so it is the authenticated user's (stable
   * per user). A RADIUS Framed-IP-Address is that address, pinned to the user in the pool; refused
   * (no address: IPCP fails) when the pool does not hold it or another user has it. A Framed-Pool
   * names the pool instead of the listener's; an unknown name is refused the same way.
   */
  #allocate(): Lease | undefined {
    const user = this.link.user;
    if (this.#lease || user === undefined) return this.#lease;
    const named = this.#authorization?.framedPool;
    const pool = named === undefined ? this.#options.pool : this.#options.pools?.(named);
    if (!pool) {
      this.#options.logger.warn('RADIUS Framed-Pool names no configured pool: refused', { protocol: this.#options.protocol, user, pool: named });
      return undefined;
    }
    const fixed = this.#authorization?.framedIpAddress;
    if (fixed !== undefined && !pool.contains(fixed)) {
      this.#options.logger.warn('RADIUS Framed-IP-Address is outside the pool: refused', { protocol: this.#options.protocol, user, address: fixed });
      return undefined;
    }
    // A separate name when the user already has a session (another device, or IKEv2): its own address.
    this.#leaseIdentity = pool.sessionIdentity(user);
    const lease = pool.allocate(this.#leaseIdentity, this.#now(), fixed !== undefined ? { staticIPv4: fixed } : {});
    // Not kept when it is another address (the user's other session holds it): that one releases it.
    if (fixed !== undefined && lease !== undefined && lease.ipv4 !== fixed) {
      this.#options.logger.warn('RADIUS Framed-IP-Address is taken: refused', { protocol: this.#options.protocol, user, address: fixed });
      return undefined;
    }
    if (fixed !== undefined && lease === undefined) this.#options.logger.warn('RADIUS Framed-IP-Address is taken: refused', { protocol: this.#options.protocol, user, address: fixed });
    this.#lease = lease;
    if (lease) this.#pool = pool;
    return lease;
  }

  /**
   * The session's IPv6, once: a RADIUS Framed-IPv6-Prefix when the server sent one (refused, and then
   * no IPv6 at all, when it is unreadable, not a /64, inside a pool or another session's: issue 21),
   * else the lease's own /64 (issue 20), else the lease's /128 (a pool with no /64 to spare). In a /64
   * the identifier asked of the peer is the /128's, so its SLAAC address is as stable as the lease.
   */
  #assignIpv6(): Ipv6Assignment | undefined {
    if (this.#ipv6Assignment !== undefined) return this.#ipv6Assignment ?? undefined;
    const lease = this.#allocate();
    if (!lease) return undefined;
    const a = this.#authorization;
    const refuse = (reason: string): undefined => {
      this.#options.logger.warn('RADIUS Framed-IPv6-Prefix refused: no IPv6 for the session', { protocol: this.#options.protocol, user: this.link.user, reason });
      this.#ipv6Assignment = null;
      return undefined;
    };
    if (a?.refusedIpv6Prefix !== undefined) return refuse(a.refusedIpv6Prefix);
    let slash64 = lease.ipv6Prefix;
    if (a?.framedIpv6Prefix !== undefined) {
      if (!this.#options.framedIpv6) return refuse('this listener takes no Framed-IPv6-Prefix');
      const claim = this.#options.framedIpv6.claim(a.framedIpv6Prefix, this.#tag);
      if (!claim.ok) return refuse(claim.reason);
      this.#framedIpv6 = slash64 = claim.prefix;
    }
    if (slash64 === undefined) {
      this.#ipv6Assignment = lease.ipv6 !== undefined ? { address: lease.ipv6, prefixLength: 128 } : null;
      return this.#ipv6Assignment ?? undefined;
    }
    const address = Uint8Array.from(parseIp(slash64.split('/')[0]!)!.bytes);
    const identifier = lease.ipv6 !== undefined ? parseIp(lease.ipv6)?.bytes.subarray(8) : undefined;
    address.set(identifier ?? [0, 0, 0, 0, 0, 0, 0, 1], 8);
    this.#ipv6Assignment = { address: ipv6Text(address), prefixLength: 64 };
    return this.#ipv6Assignment;
  }

  /** The Framed-IPv6-Prefix this session holds (the service routes it to the shared TUN: it is outside every pool). */
  get framedIpv6Prefix(): string | undefined {
    return this.#framedIpv6;
  }

  /** Framed-Routes of the Access-Accept (RFC 2865 §5.22): routed to the session, allowed as its sources. */
  get framedRoutes(): readonly string[] {
    return this.#authorization?.framedRoutes ?? [];
  }

  /** The prefixes routed to the session: its addresses and a site's subnets (issue 20: what a driver data path takes over). */
  get routedPrefixes(): string[] {
    const ipv6 = this.#ipv6Routed ? this.#ipv6?.routedPrefix : undefined;
    return [...(this.#ipv4 ? [`${this.#ipv4}/32`] : []), ...(ipv6 ? [ipv6] : []), ...this.#siteSubnetTexts];
  }

  /** The session's pipe routes again (its driver data path closed while the session goes on). */
  reroute(): void {
    if (this.#dead) return;
    for (const prefix of this.routedPrefixes) this.#options.pipe.route(this.#tag, prefix);
  }

  /** IP packets that crossed JavaScript (the driver's are in info, not here). */
  get javascriptPackets(): { readonly in: number; readonly out: number } {
    return { in: this.#packetsIn, out: this.#packetsOut };
  }

  /** The session's IPv4 address once IPCP gave it; cheaper than `info` (no counters read, nothing built) for per-frame checks. */
  get ipv4(): string | undefined {
    return this.#ipv4;
  }

  get info(): PppSessionInfo {
    const d = this.#options.driverCounters?.();
    // A RADIUS /64 is the session's (routed to it) from IPCP up, whether or not the client opens IPV6CP:
    // accounting (RFC 3162) and a Disconnect-Request naming it must see it.
    const ipv6Prefix = this.#ipv6Routed ? this.#ipv6?.routedPrefix : this.#framedIpv6;
    return { id: this.#tag, protocol: this.#options.protocol, peer: this.#options.peer, user: this.link.user, ipv4: this.#ipv4, ipv6: this.#ipv6Routed ? this.#ipv6?.address : undefined,
      ...(ipv6Prefix?.endsWith('/64') ? { ipv6Prefix } : {}), since: this.#since,
      bytesIn: this.#bytesIn + (d?.bytesIn ?? 0), bytesOut: this.#bytesOut + (d?.bytesOut ?? 0), packetsIn: this.#packetsIn + (d?.packetsIn ?? 0), packetsOut: this.#packetsOut + (d?.packetsOut ?? 0),
      ...(this.#authorization?.class.length ? { class: this.#authorization.class } : {}),
      ...(this.#authorization?.interimSeconds !== undefined ? { interimSeconds: this.#authorization.interimSeconds } : {}),
      ...(this.#authorization?.server !== undefined ? { radiusServer: this.#authorization.server } : {}) };
  }

  lowerUp(): void {
    this.#run(this.link.lowerUp(this.#now()));
  }

  receiveFrame(frame: Uint8Array): void {
    if (this.#dead) return;
    this.#heard = true;
    this.#run(this.link.receiveFrame(frame, this.#now()));
  }

  /** Issue 22: a frame MPPE carried, decrypted by the lower layer's driver (PppLink.receiveDecrypted). */
  receiveDecrypted(frame: Uint8Array): void {
    if (!this.#dead) this.#run(this.link.receiveDecrypted(frame, this.#now()));
  }

  lowerDown(reason: string): void {
    this.#run(this.link.lowerDown(this.#now(), reason));
    this.#setupFailed(reason);
    this.#finish(reason);
  }

  close(reason: string): void {
    this.#closing = true;
    this.#run(this.link.close(this.#now(), reason));
  }

  /**
   * A RADIUS CoA-Request's new limits (RFC 5176 §3.2), replacing the Access-Accept's: a Session-Timeout
   * lets the session last that many seconds more from now (as NASes commonly apply it); an
   * Idle-Timeout counts from the last packet the client sent; an Acct-Interim-Interval is kept for
   * `info` (the accounting's timer is changed by the caller).
   */
  changeLimits(change: SessionChange): void {
    if (this.#dead) return;
    const { sessionTimeoutSeconds, idleTimeoutSeconds, interimSeconds } = change;
    this.#authorization = {
      ...(this.#authorization ?? { class: [] }),
      ...(sessionTimeoutSeconds !== undefined ? { sessionTimeoutSeconds } : {}),
      ...(idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds } : {}),
      ...(interimSeconds !== undefined ? { interimSeconds } : {}),
    };
    if (sessionTimeoutSeconds !== undefined) this.#sessionTimeoutFrom = this.#now();
    this.#arm();
  }

  /** Something the link waits on is ready (a RADIUS verdict): run its timers now. */
  wake(): void {
    if (!this.#dead) this.#arm();
  }

  #run(actions: readonly LinkAction[]): void {
    for (const a of actions) this.#act(a);
    this.#arm();
  }

  #act(a: LinkAction): void {
    const log = this.#options.logger;
    switch (a.type) {
      case 'send':
        return this.#options.send(encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }));
      case 'deliver':
        this.#bytesIn += a.packet.length;
        this.#packetsIn++;
        this.#lastFromPeer = this.#now();
        if (a.protocol === PppProtocol.IPv6) return this.#fromPeerIpv6(a.packet);
        if (this.#answerDhcpInform(a.packet)) return;
        if (!this.#fromPeerOk(a.packet)) return;
        this.#options.pipe.write(a.packet);
        return;
      case 'authenticated':
        log.info('PPP authenticated', { protocol: this.#options.protocol, user: a.user, method: a.method, peer: this.#options.peer, ...authorizationFields(a.authorization) });
        // A legacy method the listener allows still gets said each time it is used: who still needs it.
        if (insecureAuthMethod(a.method)) log.warn('insecure: PPP login with a legacy method', { protocol: this.#options.protocol, user: a.user, method: a.method, why: insecureAuthMethod(a.method), peer: this.#options.peer });
        this.#authorization = a.authorization;
        this.#authenticated = true;
        this.#sessionTimeoutFrom = this.#lastFromPeer = this.#now();
        return this.#options.onAuthenticated?.(a.user, a.keys);
      case 'auth-failed':
        this.#authRefused = true;
        this.#options.onAuthFailed?.(a.user);
        return log.warn('PPP authentication failed', { protocol: this.#options.protocol, user: a.user, method: a.method, reason: a.reason, peer: this.#options.peer });
      case 'network-up':
        this.#networkUp = true;
        if (a.protocol === PppProtocol.IPV6CP) return this.#ipv6Up();
        if (a.ipv4?.peerAddress) {
          // Decided now, so a RADIUS /64 is claimed before the listener routes the session's prefixes (AnsweringSites.started).
          if (this.#ipv6) this.#assignIpv6();
          this.#ipv4 = a.ipv4.peerAddress;
          this.#options.pipe.route(this.#tag, `${a.ipv4.peerAddress}/32`);
          this.#routeSite();
          log.info('PPP session up', { protocol: this.#options.protocol, user: this.link.user, address: this.#ipv4, peer: this.#options.peer });
          this.#options.onNetworkUp?.();
        }
        return;
      case 'network-down':
        if (a.protocol === PppProtocol.IPV6CP) this.#ipv6?.down();
        return;
      case 'dead':
        this.#setupFailed(a.reason);
        this.#finish(a.reason);
        return this.#options.onDead(a.reason);
      case 'log':
        return log[a.level](a.msg, a.fields);
    }
  }

  /** Windows' DHCPINFORM after the link is up: answered here on the gateway's side of the link, never forwarded. */
  #answerDhcpInform(packet: Uint8Array): boolean {
    const answer = this.#options.dhcpInform;
    const serverAddress = this.#options.link.localAddress;
    const inform = answer && this.#ipv4 !== undefined ? readDhcpInform(packet, serverAddress) : undefined;
    if (!answer || !inform) return false;
    this.#toPeer(answerDhcpInform(inform, { ...answer, serverAddress }));
    this.#options.logger.info('DHCPINFORM answered', { protocol: this.#options.protocol, user: this.link.user, routes: answer.routes });
    return true;
  }

  /** A site peer's networks, and the RADIUS server's Framed-Routes, go to this session too (the service adds their kernel routes). */
  #routeSite(): void {
    const user = this.link.user;
    const subnets = [...new Set([...(user === undefined ? [] : this.#options.siteSubnets?.(user) ?? []), ...this.framedRoutes])];
    for (const subnet of subnets) this.#options.pipe.route(this.#tag, subnet);
    this.#siteSubnets = subnets.map((s) => parsePrefix(s)).filter((p): p is ParsedPrefix => p !== undefined);
    this.#siteSubnetTexts = subnets.filter((s) => parsePrefix(s) !== undefined);
  }

  /** RFC 4301-style source check for PPP: a client sends from its own address (or its site's networks) only. */
  #fromPeerOk(packet: Uint8Array): boolean {
    if (packet.length < 20 || packet[0]! >> 4 !== 4) return false;
    const source = `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}`;
    if (source === this.#ipv4) return true;
    if (this.#siteSubnets.some((p) => prefixContains(p, packet.subarray(12, 16)))) return true;
    this.link.countDrop('IPv4 from another source');
    this.#options.onSourceDrop?.(4);
    return false;
  }

  #ipv6Up(): void {
    const ipv6 = this.#ipv6;
    const address = ipv6?.address;
    const prefix = ipv6?.routedPrefix;
    if (!ipv6 || !address || !prefix) return;
    if (!this.#ipv6Routed) this.#options.pipe.route(this.#tag, prefix);
    this.#ipv6Routed = true;
    this.#options.logger.info('PPP IPv6 up', { protocol: this.#options.protocol, user: this.link.user, address, ...(prefix.endsWith('/64') ? { prefix } : {}), peer: this.#options.peer });
    for (const ra of ipv6.up(this.#now())) this.#toPeer(ra);
    this.#options.onNetworkUp?.();
  }

  #fromPeerIpv6(packet: Uint8Array): void {
    const verdict = this.#ipv6?.fromPeer(packet);
    if (!verdict) return;
    for (const answer of verdict.answer) this.#toPeer(answer);
    if (verdict.forward) this.#options.pipe.write(packet);
    else if (verdict.dropped === 'IPv6 from another source') this.#options.onSourceDrop?.(6);
  }

  #fromTun(packet: Buffer): void {
    if (!this.#dead) this.#toPeer(packet);
  }

  /** An IP packet to the client (from the network, or the gateway's own adverts), MPPE-encrypted when on. */
  #toPeer(packet: Uint8Array): void {
    if (this.link.mppe?.inDriver) {
      if (!this.#options.sendIp?.(packet)) return;
      this.#bytesOut += packet.length;
      this.#packetsOut++;
      return;
    }
    const frame = this.link.encapsulate(packet[0]! >> 4 === 6 ? PppProtocol.IPv6 : PppProtocol.IPv4, packet);
    if (!frame) return;
    this.#bytesOut += packet.length;
    this.#packetsOut++;
    this.#options.send(encodePppFrame(frame, { addressControl: true }));
  }

  #arm(): void {
    const at = this.#dead ? undefined : earliest(earliest(this.link.nextTimeout(), this.#ipv6?.nextTimeout()), this.#limitDue()?.at);
    // After most frames the deadline is the one already set: the timer stays (no new Timeout per frame).
    if (this.#timer && at === this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const ra of this.#ipv6?.tick(this.#now()) ?? []) this.#toPeer(ra);
      const limit = this.#limitDue();
      if (limit && limit.at <= this.#now()) return this.close(limit.reason);
      this.#run(this.link.tick(this.#now()));
    }, Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  /** When the server's Session-Timeout or Idle-Timeout (RFC 2865 §5.27, §5.28) ends the session, and the words for why. */
  #limitDue(): { at: number; reason: string } | undefined {
    const a = this.#authorization;
    if (!a || this.#closing) return undefined;
    const limits = [
      a.sessionTimeoutSeconds !== undefined ? { at: this.#sessionTimeoutFrom + a.sessionTimeoutSeconds * 1000, reason: `session timeout (RADIUS Session-Timeout ${a.sessionTimeoutSeconds} s)` } : undefined,
      a.idleTimeoutSeconds !== undefined ? { at: this.#lastFromPeer + a.idleTimeoutSeconds * 1000, reason: `idle timeout (RADIUS Idle-Timeout ${a.idleTimeoutSeconds} s)` } : undefined,
    ].filter((l) => l !== undefined);
    return limits.sort((x, y) => x.at - y.at)[0];
  }

  /** A session that never came up, reported once (a refused login and the gateway's own close are reported elsewhere). */
  #setupFailed(reason: string): void {
    if (this.#dead || this.#networkUp || this.#authRefused || this.#closing) return;
    this.#options.onSetupFailed?.({ stage: this.#authenticated ? 'ppp-ncp' : 'ppp-lcp', reason, heard: this.#heard, user: this.link.user });
  }

  /** Once: route and tag gone, the lease given back (kept as the user's reservation by the pool). */
  #finish(reason: string): void {
    if (this.#dead) return;
    this.#dead = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#options.pipe.unregister(this.#tag);
    const user = this.link.user;
    if (this.#leaseIdentity !== undefined && this.#lease) (this.#pool ?? this.#options.pool).release(this.#leaseIdentity, this.#now());
    if (this.#framedIpv6 !== undefined) this.#options.framedIpv6?.release(this.#framedIpv6, this.#tag);
    const { bytesIn, bytesOut } = this.info;
    this.#options.logger.info('PPP session down', { protocol: this.#options.protocol, user, address: this.#ipv4, ...(this.#ipv6Routed ? { ipv6: this.#ipv6?.address } : {}), reason, bytesIn, bytesOut });
  }
}

/** For the log line: what the server said about the session (Class stays out: it may be opaque state). */
function authorizationFields(a: SessionAuthorization | undefined): Record<string, unknown> {
  if (!a) return {};
  return {
    ...(a.framedIpAddress !== undefined ? { framedIpAddress: a.framedIpAddress } : {}),
    ...(a.framedPool !== undefined ? { framedPool: a.framedPool } : {}),
    ...(a.dnsServers !== undefined ? { dns: a.dnsServers } : {}),
    ...(a.sessionTimeoutSeconds !== undefined ? { sessionTimeout: a.sessionTimeoutSeconds } : {}),
    ...(a.idleTimeoutSeconds !== undefined ? { idleTimeout: a.idleTimeoutSeconds } : {}),
    ...(a.interimSeconds !== undefined ? { interimInterval: a.interimSeconds } : {}),
    ...(a.replyMessage !== undefined ? { replyMessage: a.replyMessage } : {}),
    ...(a.framedRoutes !== undefined ? { framedRoutes: a.framedRoutes } : {}),
    ...(a.refusedRoutes !== undefined ? { refusedRoutes: a.refusedRoutes } : {}),
    ...(a.framedIpv6Prefix !== undefined ? { framedIpv6Prefix: a.framedIpv6Prefix } : {}),
    ...(a.refusedIpv6Prefix !== undefined ? { refusedIpv6Prefix: a.refusedIpv6Prefix } : {}),
  };
}
