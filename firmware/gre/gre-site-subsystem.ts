/*
 * GRE sites (issue 25): each enabled GRE site is a point-to-point interface `gre-<site>` of its own,
 * run by the driver (a NativeTunnel in GRE framing: its TUN with the site's tunnel address and MTU, a
 * raw GRE socket on the WAN address, the key sent and required), so routing daemons and static
 * routes can use it; the site's remote subnets are routed into it. Liveness follows the keepalive
 * engine (keepalive.ts): packets the tunnel delivered and our keepalives come back (GRE type 0,
 * counted by the driver) count as the peer heard. Probes are Cisco keepalives (cisco-keepalive.ts)
 * sent through the tunnel by the driver; with a driver built without that call, one ICMP echo to
 * the peer's tunnel address through the interface instead.
 * The peer's own Cisco keepalives are reflected by the kernel: accept_local on the interface lets
 * their inner packet (from our own address) in to be forwarded back.
 * GRE over IPsec (gre.ipsec): the IKE subsystem keys a transport child for GRE between the two WAN
 * addresses that takes the raw socket's packets and gives back the decrypted ones; guard rules here
 * (gre-ipsec-guard.ts) keep the site's GRE off the wire in plain text while that SA is down.
 * Through a NAT the SA is ESP in UDP 4500 and the site follows it (GreIpsecPath): its GRE peer is
 * the address the SA runs to (a NATed peer's public one), and our keepalives ask to come back to the
 * address the peer sees us at, so that they return through the SA and not towards a private address.
 */
import { execFile, execFileSync } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { writeFileSync } from 'node:fs';
import type { PosternConfig, SiteConfig } from '../config/types.ts';
import { NativeTunnel } from '../dataplane/native.ts';
import { GRE_PROTOCOL } from './gre-header.ts';
import { encodeKeepalive } from './cisco-keepalive.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { greSiteSettings, type GreSiteSettings } from './gre-site-settings.ts';
import { GreKeepalive, type KeepaliveAction, type KeepaliveState } from './keepalive.ts';
import { addGreGuard, removeGreGuard } from './gre-ipsec-guard.ts';

export const greSites = (config: PosternConfig): SiteConfig[] => config.sites.filter((s) => s.enabled && s.protocol === 'gre');

/** How often the shell looks at the tunnels' counters (the engine's own timeouts are whole seconds). */
const POLL_MS = 500;
/** What sendGre returns from a driver built without it. */
const ENOSYS = -38;

export interface GreSiteSubsystemOptions {
  readonly logger: Logger;
  /** The WAN address the GRE sockets are bound to and packets leave from. */
  readonly wanAddress: (config: PosternConfig) => string | undefined;
  readonly onStateChange?: (site: string, state: KeepaliveState, why: string) => void;
  readonly clock?: () => number;
  /** One probe through the site's interface instead of the Cisco keepalive (or its ICMP fallback). */
  readonly probe?: (site: GreSiteSettings) => void;
  /** GRE over IPsec: whether the site's IPsec SA is up (the IKE subsystem knows). */
  readonly ipsecUp?: (site: string) => boolean;
  /** GRE over IPsec: where the site's SA runs, while it is up. */
  readonly ipsecPath?: (site: string) => GreIpsecPath | undefined;
}

/** The peer's address as the SA sees it; ours as the peer sees it when we are behind a NAT. */
export interface GreIpsecPath {
  readonly peer: string;
  readonly seenAs?: string;
}

export interface GreSiteState {
  readonly name: string;
  readonly state: KeepaliveState;
  readonly rxPackets: number;
  readonly txPackets: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** An ICMP echo to the peer's tunnel address, out of the site's interface; the answer is counted by the tunnel. */
function pingProbe(site: GreSiteSettings): void {
  execFile('ping', ['-c', '1', '-W', '1', '-I', site.interfaceName, '--', site.peerAddress], { timeout: 3000 }, () => {});
}

class GreSiteLink {
  readonly settings: GreSiteSettings;
  readonly keepalive: GreKeepalive;
  readonly #tunnel: NativeTunnel;
  readonly #local: string;
  #heard = 0n;
  #keepaliveId = 0;
  /** Probes that went as ICMP echoes (the driver could not send a Cisco keepalive). */
  #icmpProbes = 0;

  /** GRE over IPsec: the WAN interface its guard rules were put on; undefined for plain GRE. */
  readonly guardedOn: string | undefined;
  readonly #ipsecUp: () => boolean;
  readonly #ipsecPath: () => GreIpsecPath | undefined;
  /** The GRE peer: the configured remote, or where the site's SA runs (a NATed peer's address). */
  #peer: string;

  constructor(settings: GreSiteSettings, tunnel: NativeTunnel, local: string, now: number, guardedOn?: string, ipsecUp: () => boolean = () => false, ipsecPath: () => GreIpsecPath | undefined = () => undefined) {
    this.settings = settings;
    this.guardedOn = guardedOn;
    this.#ipsecUp = ipsecUp;
    this.#ipsecPath = ipsecPath;
    this.#peer = settings.remote;
    this.#tunnel = tunnel;
    this.#local = local;
    this.keepalive = new GreKeepalive({ intervalMs: settings.keepaliveMs, retries: settings.keepaliveRetries }, now);
  }

  /** Feeds the engine what the counters say and what time it is. */
  poll(now: number): KeepaliveAction[] {
    const s = this.#tunnel.stats();
    const heard = s ? s.tunTx + s.keepalives : this.#heard;
    const actions: KeepaliveAction[] = [];
    if (heard > this.#heard) actions.push(...this.keepalive.handle({ type: 'rcv-traffic' }, now));
    this.#heard = heard;
    const due = this.keepalive.nextTimeout();
    if (due !== undefined && now >= due) actions.push(...this.keepalive.handle({ type: 'timeout' }, now));
    return actions;
  }

  get peer(): string {
    return this.#peer;
  }

  /**
   * GRE over IPsec: the SA runs to another address than the GRE peer (the peer's NAT, seen by
   * IKE): the tunnel and its guard rules move there. The old address, or undefined when nothing moved.
   */
  followSa(): string | undefined {
    const to = this.guardedOn === undefined ? undefined : this.#ipsecPath()?.peer;
    if (to === undefined || to === this.#peer || !isIPv4(to)) return undefined;
    const from = this.#peer;
    addGreGuard(to, this.guardedOn!);
    this.#tunnel.setPeer(to, 0);
    removeGreGuard(from, this.guardedOn!);
    this.#peer = to;
    return from;
  }

  /** A Cisco keepalive through the tunnel; an ICMP echo when the driver cannot send it. */
  probe(): void {
    // Behind a NAT our own address means nothing to the peer: it would route the reflected
    // keepalive towards it in plain text, or nowhere. It is asked back to where it sees us.
    const packet = encodeKeepalive(this.#ipsecPath()?.seenAs ?? this.#local, this.#peer, this.settings.key, this.#keepaliveId++);
    // A failed send (no route to the peer) is counted by the driver and is an unanswered probe.
    if (this.#tunnel.sendGre(GRE_PROTOCOL.ipv4, packet) !== ENOSYS) return;
    this.#icmpProbes++;
    pingProbe(this.settings);
  }

  /** GRE packets this site's socket received from its own peer (whatever became of them). */
  fromPeer(): number {
    const s = this.#tunnel.stats();
    return s ? Number(s.netRx - (s.dropSource ?? 0n)) : 0;
  }

  counters(): Record<string, number> {
    const s = this.#tunnel.stats();
    return {
      rxPackets: Number(s?.tunTx ?? 0n), txPackets: Number(s?.netTx ?? 0n),
      // GRE from this site's peer that it did not take: wrong key, bad checksum, out of order, malformed.
      dropped: Number(s?.dropDecrypt ?? 0n), dropIo: Number(s?.dropIo ?? 0n), mssClamped: Number(s?.mssClamped ?? 0n),
      badKey: Number(s?.greBadKey ?? 0n), badChecksum: Number(s?.greBadChecksum ?? 0n), outOfOrder: Number(s?.greOutOfOrder ?? 0n), sequenceResyncs: Number(s?.greSeqResyncs ?? 0n),
      // GRE from addresses other than this site's peer (every GRE socket sees all GRE to the box:
      // other sites' peers too; the subsystem's unknownSource leaves those out).
      otherSource: Number(s?.dropSource ?? 0n),
      keepalivesSent: this.keepalive.probesSent, stateChanges: this.keepalive.stateChanges,
      // Cisco keepalives the driver sent, and ours come back (GRE type 0 with our key); ICMP fallbacks.
      greKeepalivesSent: Number(s?.keepalivesSent ?? 0n), greKeepalivesHeard: Number(s?.keepalives ?? 0n), icmpProbes: this.#icmpProbes,
      // GRE over IPsec: 1 when protected, and whether its SA is up (while down, sends fail into dropIo).
      ipsec: this.guardedOn === undefined ? 0 : 1, ipsecUp: this.guardedOn !== undefined && this.#ipsecUp() ? 1 : 0,
    };
  }

  /** The sequence number the next packet would carry. */
  nextSequence(): number | undefined {
    const next = this.#tunnel.stats()?.greNextSequence;
    return next === undefined ? undefined : Number(next);
  }

  stop(): void {
    this.#tunnel.stop();
    if (this.guardedOn !== undefined) removeGreGuard(this.#peer, this.guardedOn);
  }
}

/** A site restarted (any reconfiguration restarts them all) keeps numbering where it stopped. */
const sequenceKey = (s: GreSiteSettings): string => `${s.site} ${s.remote}`;

/** Best effort: a kernel setting of the site's interface (absent in some containers). */
function setInterfaceSysctl(name: string, key: string, value: string, log: Logger): void {
  try {
    writeFileSync(`/proc/sys/net/ipv4/conf/${name}/${key}`, value);
  } catch (error) {
    log.warn('could not set an interface setting', { interface: name, key, error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * IPv6 inside the tunnel: GRE carries it as protocol 0x86DD (the driver frames by the IP version).
 * Without duplicate address detection, which a point-to-point link does not need, so the address is
 * usable at once; the interface's IPv6 is switched on in case the system default has it off.
 */
function addIpv6Address(name: string, address: string): void {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '0');
  } catch {
    // no IPv6 sysctl for it: the address add below says what is wrong
  }
  execFileSync('ip', ['-6', 'addr', 'replace', address, 'dev', name, 'nodad'], { stdio: 'ignore' });
}

export class GreSiteSubsystem implements Subsystem {
  readonly name = 'gre-sites';
  readonly #options: GreSiteSubsystemOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  #links = new Map<string, GreSiteLink>();
  /**
   * Where each site's numbering stopped: a restart that began again at 0 would have a peer that
   * never resyncs (Linux) drop everything until the count caught up.
   */
  readonly #nextSequence = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #status: SubsystemStatus = { state: 'stopped' };

  constructor(options: GreSiteSubsystemOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#clock = options.clock ?? Date.now;
  }

  async start(config: PosternConfig): Promise<void> {
    const sites = greSites(config).map((s) => greSiteSettings(s)).filter((s): s is GreSiteSettings => s !== undefined);
    const local = this.#options.wanAddress(config);
    if (!local) {
      this.#status = { state: 'unavailable', detail: `waiting for an IPv4 address on the WAN (${config.system.wan.interface}): GRE sites start when it has one` };
      return;
    }
    const started: string[] = [];
    try {
      for (const s of sites) {
        // Guarded before the interface exists: its first packets (the kernel's IPv6 MLD report as it
        // comes up) would otherwise leave in plain GRE before the SA takes them.
        const wan = s.ipsec ? config.system.wan.interface : undefined;
        if (wan !== undefined && !addGreGuard(s.remote, wan)) {
          removeGreGuard(s.remote, wan);
          throw new Error(`site ${s.site}: the rules that keep its GRE from leaving unprotected could not be added`);
        }
        let tunnel: NativeTunnel;
        try {
          tunnel = NativeTunnel.start({
            framing: 'gre', ...(s.key !== undefined ? { greKey: s.key } : {}), greChecksum: s.checksum, greSequence: s.sequence, greSequenceStart: this.#nextSequence.get(sequenceKey(s)) ?? 0,
            name: s.interfaceName, mtu: s.mtu, address: s.address, prefixLength: s.prefixLength,
            local: { address: local, port: 0 }, remote: { address: s.remote, port: 0 },
          });
        } catch (error) {
          if (wan !== undefined) removeGreGuard(s.remote, wan);
          throw error;
        }
        this.#links.set(s.site, new GreSiteLink(s, tunnel, local, this.#clock(), wan, () => this.#options.ipsecUp?.(s.site) ?? false, () => this.#options.ipsecPath?.(s.site)));
        setInterfaceSysctl(s.interfaceName, 'accept_local', '1', this.#log);
        // A link-local address (the driver's TUNs get none) for IPv6 routing daemons, and the configured one.
        addIpv6Address(s.interfaceName, s.linkLocal6);
        if (s.address6 !== undefined) addIpv6Address(s.interfaceName, s.address6);
        for (const subnet of s.remoteSubnets) execFileSync('ip', ['route', 'replace', subnet, 'dev', s.interfaceName], { stdio: 'ignore' });
        started.push(s.interfaceName);
        this.#log.info('GRE site started', { site: s.site, interface: s.interfaceName, local, remote: s.remote, address: `${s.address}/${String(s.prefixLength)}`, ...(s.address6 !== undefined ? { address6: s.address6 } : {}), peer: s.peerAddress, mtu: s.mtu, ipsec: s.ipsec, keyed: s.key !== undefined, checksum: s.checksum, sequence: s.sequence, routes: s.remoteSubnets });
      }
    } catch (error) {
      await this.stop();
      this.#status = { state: 'unavailable', detail: `GRE sites could not start: ${error instanceof Error ? error.message : String(error)}` };
      this.#log.error('GRE sites are not available', { detail: this.#status.detail });
      return;
    }
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
    this.#poll();
    this.#status = { state: 'running', detail: `${String(started.length)} GRE site(s) from ${local}: ${started.join(', ')}` };
  }

  #poll(): void {
    const now = this.#clock();
    for (const link of this.#links.values()) {
      this.#follow(link);
      for (const action of link.poll(now)) {
        if (action.type === 'send-probe') {
          if (this.#options.probe) this.#options.probe(link.settings);
          else link.probe();
        }
        else {
          this.#log.info(`GRE site ${action.to}`, { site: link.settings.site, from: action.from, why: action.why });
          this.#options.onStateChange?.(link.settings.site, action.to, action.why);
        }
      }
    }
  }

  #follow(link: GreSiteLink): void {
    try {
      const from = link.followSa();
      if (from !== undefined) this.#log.info('GRE site follows its IPsec SA to the peer\'s address', { site: link.settings.site, from, to: link.peer });
    } catch (error) {
      this.#log.warn('GRE site could not follow its IPsec SA', { site: link.settings.site, error: error instanceof Error ? error.message : String(error) });
    }
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    await this.stop();
    await this.start(next);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const link of this.#links.values()) {
      const next = link.nextSequence();
      if (next !== undefined) this.#nextSequence.set(sequenceKey(link.settings), next);
      link.stop(); // the interface goes, and its routes with it
    }
    this.#links = new Map();
    this.#status = { state: 'stopped' };
  }

  siteStates(): GreSiteState[] {
    return [...this.#links.values()].map((l) => {
      const c = l.counters();
      return { name: l.settings.site, state: l.keepalive.state, rxPackets: c['rxPackets'] ?? 0, txPackets: c['txPackets'] ?? 0, rxBytes: 0, txBytes: 0 };
    });
  }

  /** A site's counters (drops, keepalives), or undefined when it does not run. */
  siteCounters(name: string): Record<string, number> | undefined {
    return this.#links.get(name)?.counters();
  }

  /**
   * GRE to the WAN address from no site's peer (a scan, a spoofed or misconfigured sender; PPTP
   * clients' GRE too): one site's packets from other sources less what the other sites took from
   * their peers. Counters are read one after the other, so it can lag by a packet or two.
   */
  unknownSource(): number {
    const links = [...this.#links.values()];
    const first = links[0];
    if (!first) return 0;
    const others = links.slice(1).reduce((sum, l) => sum + l.fromPeer(), 0);
    return Math.max(0, (first.counters()['otherSource'] ?? 0) - others);
  }

  status(): SubsystemStatus {
    const counters: Record<string, number> = {};
    for (const [name, link] of this.#links) for (const [k, v] of Object.entries(link.counters())) counters[`${name}.${k}`] = v;
    if (this.#links.size) counters['unknownSource'] = this.unknownSource();
    return { ...this.#status, ...(this.#links.size ? { counters } : {}) };
  }
}

export function greSiteSpec(create: () => GreSiteSubsystem): SubsystemSpec {
  return {
    name: 'gre-sites',
    wanted: (c) => greSites(c).length > 0,
    slice: (c) => ({ sites: greSites(c), wan: c.system.wan }),
    create,
  };
}
