/*
 * The userspace DataPlane back end: RFC 4301's SAD and SPD over drivers/, for kernels without ESP.
 * SAs live in the driver. Each IPsec child (a reqid with at least one inbound and one outbound SA and
 * an outbound `protect` policy) runs as a tunnel on the shared TUN and the shared ESP socket, so
 * packets never come up to JavaScript. The SPD's outbound policies become the hub's routes by
 * destination; while a policy has no SA its traffic is routed up the hub's pipe instead, where the
 * first packet raises an `acquire` (RFC 4301 §5.1.1), held like the kernel's larval state so IKE
 * gets one acquire per hold time, not one per packet.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { parsePrefix, prefixContains, type ParsedPrefix } from '../util/ip.ts';
import type { NativeEndpoint } from './native-endpoint.ts';
import { tunnelMtu } from './outer-mtu.ts';
import type { NativeHub } from './native-hub.ts';
import { NativeSa, NativeTunnel, type NativeExpireEvent } from './native.ts';
import type { NativePppSession } from './native-ppp.ts';
import { DataPlaneFeature } from './types.ts';
import type { DataPlane, DataPlaneEvent, DataPlaneStats, PolicyId, PolicySpec, SaCounters, SaId, SaSpec, SaUpdate, TrafficSelector } from './types.ts';

/** What the hub's pipe offers (access/pipe-dispatcher.ts); shared with the PPP sessions. */
export interface PacketPipe {
  register(handler: (packet: Buffer) => void): number;
  route(tag: number, prefix: string): void;
  unregister(tag: number): void;
}

export interface UserspaceDataPlaneOptions {
  readonly hub: NativeHub;
  readonly pipe: PacketPipe;
  /** UDP 4500 on the local address, for SAs with UDP encapsulation; raw ESP for the others. */
  readonly udpEndpoint?: NativeEndpoint;
  readonly rawEndpoint?: NativeEndpoint;
  /** The same on the IPv6 WAN address (issue 24): SAs whose outer addresses are IPv6 use these. */
  readonly udpEndpoint6?: NativeEndpoint;
  readonly rawEndpoint6?: NativeEndpoint;
  /** The hub's own address: the gateway's inner address for its tunnels. */
  readonly tunnelAddress: string;
  readonly mtu?: number;
  /** NAT keepalive interval for encapsulated SAs (RFC 3948 §2.3). */
  readonly keepaliveMs?: number;
  /** How long one acquire stands before traffic may raise another (XFRM's acq_expires: 30 s). */
  readonly acquireHoldMs?: number;
  readonly clock?: () => number;
  /** Puts a policy's destination into the kernel's routing toward the hub (and takes it out). */
  readonly kernelRoute?: (prefix: string, add: boolean) => void;
  /**
   * Transport mode protects this host's own traffic (L2TP's UDP 1701 to a peer) while everything
   * else to the same address, IKE and ESP included, stays on the normal route: only what an
   * outbound transport policy selects, by protocol and port, is steered into the hub.
   */
  readonly kernelSteer?: (selectors: SteeredTraffic, add: boolean) => void;
}

/** What an outbound transport-mode policy sends through the hub. */
export interface SteeredTraffic {
  readonly source: TrafficSelector;
  readonly destination: TrafficSelector;
}

interface HeldSa {
  spec: SaSpec;
  readonly native: NativeSa;
  readonly order: number;
}

interface Child {
  readonly tunnel: NativeTunnel;
  /** What the tunnel was started with; a change of it restarts the tunnel (SAs keep their state). */
  readonly shape: string;
  /** The inbound SAs it accepts, with their SPIs. */
  readonly inbound: Map<NativeSa, number>;
  outbound: NativeSa;
  peer: string;
}

/** An outbound policy waiting for its SA: its traffic comes up the pipe under `tag`. */
interface Trap {
  readonly tag: number;
  heldUntil: number;
}

const isIpv4 = (address: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
// Keys are kept for each SA and policy: join makes one flat string, where a template literal leaves a
// chain of a dozen cons strings behind each key (about 0.5 KB per SA at thousands of SAs, issue 23).
const saKey = (id: SaId): string => [id.spi >>> 0, id.destination].join('@');
const policyKey = (id: PolicyId): string => [id.direction, id.source.prefix, id.source.protocol ?? '*', id.source.port ?? '*', id.destination.prefix, id.destination.protocol ?? '*', id.destination.port ?? '*'].join(':');
const peerOf = (spec: SaSpec): string => [spec.destination, spec.encapsulation?.destinationPort ?? 0].join(':');
const policyId = (p: PolicySpec): PolicyId => ({ source: p.source, destination: p.destination, direction: p.direction });

/** The reqid indexes hold exact-size arrays, replaced on each change (see `#sasByReqid`): `item` added once. */
function indexAdd<K, V>(index: Map<K, readonly V[]>, key: K, item: V): void {
  const held = index.get(key) ?? [];
  if (!held.includes(item)) index.set(key, [...held, item]);
}

/** `item` out of its reqid's array; the entry goes with the last one. */
function indexRemove<K, V>(index: Map<K, readonly V[]>, key: K, item: V): void {
  const held = index.get(key)?.filter((x) => x !== item) ?? [];
  if (held.length) index.set(key, held);
  else index.delete(key);
}

export class UserspaceDataPlane implements DataPlane {
  readonly kind = 'userspace';
  readonly features: ReadonlySet<DataPlaneFeature> = new Set([DataPlaneFeature.espTunnel, DataPlaneFeature.espTransport, DataPlaneFeature.udpEncapsulation, DataPlaneFeature.esn, DataPlaneFeature.gre, DataPlaneFeature.pptpGre]);
  /** Packets that met a policy without an SA (dropped after raising the acquire) or a `discard` policy. */
  readonly counters = { acquires: 0, acquireDrops: 0, discarded: 0, tunnelRestarts: 0, expires: 0, reconciles: 0 };
  readonly #options: UserspaceDataPlaneOptions;
  readonly #sas = new Map<string, HeldSa>();
  readonly #reservedSpis = new Set<number>();
  readonly #policies = new Map<string, PolicySpec>();
  /**
   * Indexes, so each call costs the same with ten SAs or ten thousand. A reqid has a few SAs and
   * policies: arrays of the exact size, replaced on each change (a Set, or an array pushed to,
   * reserves room for a dozen more; at thousands of SAs that is kilobytes each, issue 23).
   */
  readonly #sasByReqid = new Map<number, readonly HeldSa[]>();
  readonly #policiesByReqid = new Map<number, readonly string[]>();
  readonly #inboundSpis = new Map<number, number>();
  readonly #children = new Map<number, Child>();
  readonly #traps = new Map<string, Trap>();
  readonly #kernelRoutes = new Map<string, number>();
  readonly #listeners = new Set<(event: DataPlaneEvent) => void>();
  /** Transport children whose UDP to a port comes up the pipe (L2TP/IPsec, issue 20), by reqid. */
  readonly #udpUp = new Map<number, { readonly port: number; readonly tag: number }>();
  /** PPP data sessions carried by transport children (issue 20), by reqid: attached again when a child's tunnel restarts. */
  readonly #pppData = new Map<number, Set<NativePppSession>>();
  /** Inside `batch`: the reqids touched so far, each reconciled once when it ends. */
  #deferred: Set<number> | undefined;
  #order = 0;
  #names = 0;
  #closed = false;

  constructor(options: UserspaceDataPlaneOptions) {
    this.#options = options;
  }

  /** Any SPI unused by inbound SAs here; the addresses only matter to a kernel's larval state. */
  async allocateSpi(_source: string, _destination: string): Promise<number> {
    this.#open();
    for (;;) {
      // SPIs 1–255 are reserved by IANA (RFC 4303 §2.1).
      const spi = randomInt(0x100, 0xffff_ffff) >>> 0;
      if (!this.#reservedSpis.has(spi) && !this.#inboundSpis.has(spi)) {
        this.#reservedSpis.add(spi);
        return spi;
      }
    }
  }

  async addSa(spec: SaSpec): Promise<void> {
    this.#open();
    const key = saKey(spec);
    if (this.#sas.has(key)) throw new PosternError(ErrorCode.dataplaneExists, `SA ${key} exists`);
    // Transport mode rebuilds datagrams between the SA's two addresses (issue 24: IPv6 too): one family.
    if (spec.mode === 'transport' && isIpv4(spec.source) !== isIpv4(spec.destination)) throw new PosternError(ErrorCode.dataplaneInvalid, `SA ${key}: a transport-mode SA's two addresses must be of one family`);
    if (!this.#endpointFor(spec)) {
      throw new PosternError(ErrorCode.dataplaneInvalid, `SA ${key}: no ${spec.encapsulation ? 'UDP 4500' : 'raw ESP'} endpoint${isIpv4(spec.destination) ? '' : ' for IPv6'} on this data plane`);
    }
    const native = NativeSa.create({
      spi: spec.spi, suite: spec.suite, esn: spec.esn, replayWindow: spec.direction === 'in' ? spec.replayWindow : 0,
      encryptionKey: spec.keys.encryption, ...(spec.keys.integrity ? { integrityKey: spec.keys.integrity } : {}), lifetime: spec.lifetime,
    });
    this.#reservedSpis.delete(spec.spi >>> 0);
    this.#putSa(key, { spec, native, order: this.#order++ });
    this.#reconcile(spec.reqid);
  }

  async updateSa(id: SaId, update: SaUpdate): Promise<void> {
    const sa = this.#sa(id);
    const { encapsulation, ...addresses } = update;
    let spec: SaSpec = { ...sa.spec, ...addresses };
    if (encapsulation === null) {
      const { encapsulation: _gone, ...rest } = spec;
      spec = rest;
    } else if (encapsulation) spec = { ...spec, encapsulation };
    if (!this.#endpointFor(spec)) throw new PosternError(ErrorCode.dataplaneInvalid, `SA ${saKey(id)}: no endpoint for that framing and family`);
    this.#dropSa(saKey(id));
    this.#putSa(saKey(spec), { ...sa, spec });
    this.#reconcile(spec.reqid);
  }

  /** The endpoint an SA's packets use: by framing, and by the family of its outer addresses. */
  #endpointFor(spec: SaSpec): NativeEndpoint | undefined {
    const o = this.#options;
    if (isIpv4(spec.destination)) return spec.encapsulation ? o.udpEndpoint : o.rawEndpoint;
    return spec.encapsulation ? o.udpEndpoint6 : o.rawEndpoint6;
  }

  async querySa(id: SaId): Promise<SaCounters | undefined> {
    this.#open();
    const c = this.#sas.get(saKey(id))?.native.counters();
    return c && { packets: c.packets, bytes: c.bytes, replayDrops: c.dropReplay, authFailures: c.dropAuth };
  }

  async deleteSa(id: SaId): Promise<void> {
    const sa = this.#sa(id);
    this.#dropSa(saKey(id));
    this.#reconcile(sa.spec.reqid);
  }

  async addPolicy(spec: PolicySpec): Promise<void> {
    this.#open();
    const key = policyKey(spec);
    if (this.#policies.has(key)) throw new PosternError(ErrorCode.dataplaneExists, `policy ${key} exists`);
    const transport = spec.template?.mode === 'transport';
    for (const ts of transport ? [] : [spec.source, spec.destination]) {
      if (ts.protocol !== undefined || ts.port !== undefined) throw new PosternError(ErrorCode.dataplaneInvalid, `policy ${key}: tunnel-mode policies select by address, not by protocol or port (transport mode may)`);
    }
    if (spec.action === 'protect' && !spec.template) throw new PosternError(ErrorCode.dataplaneInvalid, `policy ${key}: protect needs a template`);
    this.#putPolicy(key, spec);
    this.#steer(spec, true);
    if (spec.direction === 'out' && spec.action === 'discard') this.#trap(key, spec);
    if (spec.template) this.#reconcile(spec.template.reqid);
  }

  /** A policy changing hands (a reauthentication's new child): the new reqid's tunnel gets its routes, the old one keeps receiving. */
  async updatePolicy(spec: PolicySpec): Promise<void> {
    this.#open();
    const key = policyKey(spec);
    const old = this.#policies.get(key);
    if (!old) return this.addPolicy(spec);
    if (spec.action === 'protect' && !spec.template) throw new PosternError(ErrorCode.dataplaneInvalid, `policy ${key}: protect needs a template`);
    this.#dropPolicy(key);
    this.#putPolicy(key, spec);
    if (old.template && old.template.reqid !== spec.template?.reqid) this.#reconcile(old.template.reqid);
    if (spec.template) this.#reconcile(spec.template.reqid);
    const owner = spec.template && spec.direction === 'out' ? this.#children.get(spec.template.reqid) : undefined;
    owner?.tunnel.route(spec.destination.prefix);
  }

  async deletePolicy(id: PolicyId): Promise<void> {
    this.#open();
    const key = policyKey(id);
    const spec = this.#policies.get(key);
    if (!spec) throw new PosternError(ErrorCode.dataplaneNotFound, `no policy ${key}`);
    this.#dropPolicy(key);
    this.#untrap(key);
    if (spec.template) this.#reconcile(spec.template.reqid);
    this.#steer(spec, false);
  }

  /**
   * The calls `apply` makes (addSa, addPolicy, updatePolicy…) each take effect at once as usual, but
   * the tunnels of the reqids they touch are brought in line once, when it returns: a child's two SAs
   * and two policies start its tunnel in one step instead of four looks at the reqid (issue 23).
   */
  batch(apply: () => void): void {
    if (this.#deferred) return apply();
    const touched = (this.#deferred = new Set());
    try {
      apply();
    } finally {
      this.#deferred = undefined;
      for (const reqid of touched) this.#reconcile(reqid);
    }
  }

  stats(): DataPlaneStats {
    return { sas: this.#sas.size, policies: this.#policies.size, tunnels: this.#children.size, acquires: this.counters.acquires, expires: this.counters.expires };
  }

  subscribe(listener: (event: DataPlaneEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const key of [...this.#traps.keys()]) this.#untrap(key);
    for (const child of this.#children.values()) child.tunnel.stop();
    this.#children.clear();
    for (const reqid of [...this.#udpUp.keys()]) this.#stopUdpUp(reqid);
    for (const prefix of [...this.#kernelRoutes.keys()]) this.#options.kernelRoute?.(prefix, false);
    this.#kernelRoutes.clear();
    for (const p of this.#policies.values()) if (p.template?.mode === 'transport' && p.direction === 'out' && p.action !== 'bypass') this.#options.kernelSteer?.(p, false);
    this.#sas.clear();
    this.#policies.clear();
    this.#sasByReqid.clear();
    this.#policiesByReqid.clear();
    this.#inboundSpis.clear();
    this.#listeners.clear();
    this.#closed = true;
  }

  /** An SA's counters without a round trip (status pages call this per session). */
  saCounters(id: SaId): SaCounters | undefined {
    const c = this.#sas.get(saKey(id))?.native.counters();
    return c && { packets: c.packets, bytes: c.bytes, replayDrops: c.dropReplay, authFailures: c.dropAuth };
  }

  /** The running tunnel of a reqid, for its packet counters. */
  tunnel(reqid: number): NativeTunnel | undefined {
    return this.#children.get(reqid)?.tunnel;
  }

  /**
   * A transport child's decrypted UDP to `port` (L2TP's 1701, issue 20) goes to `handler` as the
   * rebuilt IPv4 datagram, not into the TUN, for as long as the reqid has SAs (rekeys included), so
   * the L2TP shell knows which SA each datagram came in on. False when the driver cannot.
   */
  deliverUdp(reqid: number, port: number, handler: (datagram: Buffer) => void): boolean {
    if (this.#udpUp.has(reqid)) return true;
    const tag = this.#options.pipe.register(handler);
    this.#udpUp.set(reqid, { port, tag });
    const child = this.#children.get(reqid);
    if (!child || child.tunnel.deliverUdp(port, tag)) return true;
    this.#stopUdpUp(reqid);
    return false;
  }

  /** One UDP payload out through a reqid's transport SA (deliverUdp's way back): bytes sent, or a negative errno (-2: no such child). */
  sendUdp(reqid: number, sourcePort: number, destinationPort: number, payload: Uint8Array): number {
    return this.#children.get(reqid)?.tunnel.sendUdp(sourcePort, destinationPort, payload) ?? -2;
  }

  /**
   * L2TP/IPsec (issue 20): the reqid's transport tunnel carries a PPP data session (deframed and
   * framed in the driver), now and whenever it restarts; the newest attach takes the session's
   * routes. False when the driver cannot (the caller keeps the JavaScript path).
   */
  attachPppData(reqid: number, session: NativePppSession): boolean {
    const child = this.#children.get(reqid);
    if (!child || session.attach(child.tunnel) !== 0) return false;
    let set = this.#pppData.get(reqid);
    if (!set) this.#pppData.set(reqid, (set = new Set()));
    set.add(session);
    return true;
  }

  detachPppData(reqid: number, session: NativePppSession): void {
    const child = this.#children.get(reqid);
    if (child) session.detach(child.tunnel);
    this.#pppData.get(reqid)?.delete(session);
  }

  #stopUdpUp(reqid: number): void {
    this.#pppData.delete(reqid);
    const up = this.#udpUp.get(reqid);
    if (!up) return;
    this.#udpUp.delete(reqid);
    this.#children.get(reqid)?.tunnel.deliverUdp(0, 0);
    this.#options.pipe.unregister(up.tag);
  }

  /**
   * Brings a reqid's tunnel in line with its SAs and policies: started when it has an inbound SA,
   * an outbound SA and an outbound protect policy; SAs swapped in place (lossless rekeying); restarted
   * when its selectors or framing change; kept while its SAs last if another reqid took its
   * policies over; stopped, with its policies trapped again, when its SAs are gone.
   */
  #reconcile(reqid: number): void {
    if (this.#deferred) return void this.#deferred.add(reqid);
    this.counters.reconciles++;
    const sas = [...(this.#sasByReqid.get(reqid) ?? [])].sort((a, b) => a.order - b.order);
    const inbound = sas.filter((sa) => sa.spec.direction === 'in').slice(-4);
    const outbound = sas.filter((sa) => sa.spec.direction === 'out').at(-1);
    const policies = [...(this.#policiesByReqid.get(reqid) ?? [])].map((key) => [key, this.#policies.get(key)!] as const).filter(([, p]) => p.action === 'protect');
    const out = policies.filter(([, p]) => p.direction === 'out');
    const current = this.#children.get(reqid);
    if (!outbound || inbound.length === 0 || (out.length === 0 && !current)) {
      if (current) this.#stopChild(reqid, current);
      if (sas.length === 0) this.#stopUdpUp(reqid); // reqids are never reused: its SAs are gone for good
      for (const [key, p] of out) this.#trap(key, p);
      return;
    }
    const remote = [...new Set([...out.map(([, p]) => p.destination.prefix), ...policies.filter(([, p]) => p.direction !== 'out').map(([, p]) => p.source.prefix)])].sort();
    const local = [...new Set(out.map(([, p]) => p.source.prefix))].sort();
    const encap = outbound.spec.encapsulation;
    const shape = [remote.join(','), local.join(','), encap ? 'esp-udp' : 'esp', outbound.spec.mode, outbound.spec.source, encap?.sourcePort ?? 0].join(' ');
    const peer = peerOf(outbound.spec);
    let child = current;
    // Its policies taken over by a newer child: it goes on receiving until its SAs are deleted.
    if (child && out.length > 0 && child.shape !== shape) {
      this.#stopChild(reqid, child);
      this.counters.tunnelRestarts++;
      child = undefined;
    }
    if (!child) {
      child = this.#startChild(reqid, shape, outbound, inbound[0]!, { remote, local, routes: [...new Set(out.map(([, p]) => p.destination.prefix))] });
      for (const [key] of out) this.#untrap(key);
    }
    const wanted = new Map(inbound.map((sa) => [sa.native, sa.spec.spi >>> 0] as const));
    for (const [sa, spi] of [...child.inbound]) {
      if (wanted.has(sa)) continue;
      child.tunnel.removeInbound(spi);
      child.inbound.delete(sa);
    }
    for (const [sa, spi] of wanted) if (!child.inbound.has(sa)) (child.tunnel.addInbound(sa), child.inbound.set(sa, spi));
    if (child.outbound !== outbound.native) (child.tunnel.setOutbound(outbound.native), (child.outbound = outbound.native));
    if (child.peer !== peer) {
      child.tunnel.setPeer(outbound.spec.destination, encap?.destinationPort ?? 0);
      child.peer = peer;
    }
  }

  #startChild(reqid: number, shape: string, outbound: HeldSa, firstInbound: HeldSa, selectors: { remote: string[]; local: string[]; routes: string[] }): Child {
    const o = this.#options;
    const encap = outbound.spec.encapsulation;
    const common = {
      name: `pus${this.#names++}`, mtu: tunnelMtu(o.mtu ?? 1400, outbound.spec.destination), address: o.tunnelAddress, prefixLength: 32, hub: o.hub,
      remoteSelectors: selectors.remote, localSelectors: selectors.local, outbound: outbound.native, inbound: firstInbound.native,
      transport: outbound.spec.mode === 'transport',
      onEvent: (event: NativeExpireEvent) => this.#expired(reqid, event),
      local: { address: outbound.spec.source, port: encap?.sourcePort ?? 0 }, remote: { address: outbound.spec.destination, port: encap?.destinationPort ?? 0 },
    };
    const tunnel = encap
      ? NativeTunnel.start({ ...common, framing: 'esp-udp', endpoint: this.#endpointFor(outbound.spec)!, keepaliveMs: o.keepaliveMs ?? 20_000 })
      : NativeTunnel.start({ ...common, framing: 'esp', endpoint: this.#endpointFor(outbound.spec)! });
    const child: Child = { tunnel, shape, inbound: new Map([[firstInbound.native, firstInbound.spec.spi >>> 0]]), outbound: outbound.native, peer: peerOf(outbound.spec) };
    this.#children.set(reqid, child);
    // The hub routes by destination; the newest route for a prefix replaces a trap on it.
    for (const prefix of selectors.routes) tunnel.route(prefix);
    const up = this.#udpUp.get(reqid);
    if (up) tunnel.deliverUdp(up.port, up.tag);
    for (const session of this.#pppData.get(reqid) ?? []) session.attach(tunnel);
    return child;
  }

  #stopChild(reqid: number, child: Child): void {
    child.tunnel.stop(); // its hub routes go with it
    this.#children.delete(reqid);
  }

  /** Hard expiry takes the SA out (traffic then raises an acquire); soft expiry only tells IKE to rekey. */
  #expired(reqid: number, event: NativeExpireEvent): void {
    const sa = this.#sasByReqid.get(reqid)?.find((s) => s.spec.spi >>> 0 === event.spi >>> 0);
    if (!sa) return;
    const id = { spi: sa.spec.spi, destination: sa.spec.destination };
    if (event.hard) {
      this.#dropSa(saKey(id));
      this.#reconcile(reqid);
    }
    this.counters.expires++;
    this.#emit({ type: 'expire', sa: id, hard: event.hard });
  }

  #trap(key: string, policy: PolicySpec): void {
    if (this.#traps.has(key)) return;
    const tag = this.#options.pipe.register(() => {
      const trap = this.#traps.get(key);
      const now = (this.#options.clock ?? Date.now)();
      if (policy.action === 'discard') return void this.counters.discarded++;
      this.counters.acquireDrops++;
      if (!trap || now < trap.heldUntil || !policy.template) return;
      trap.heldUntil = now + (this.#options.acquireHoldMs ?? 30_000);
      this.counters.acquires++;
      this.#emit({ type: 'acquire', policy: policyId(policy), reqid: policy.template.reqid });
    });
    this.#traps.set(key, { tag, heldUntil: 0 });
    this.#options.pipe.route(tag, policy.destination.prefix);
  }

  #untrap(key: string): void {
    const trap = this.#traps.get(key);
    if (!trap) return;
    this.#traps.delete(key);
    this.#options.pipe.unregister(trap.tag);
  }

  /** The kernel's side of an outbound policy: its destination routed to the hub, or for transport mode only its selected traffic. */
  #steer(spec: PolicySpec, add: boolean): void {
    if (spec.direction !== 'out' || spec.action === 'bypass') return;
    if (spec.template?.mode === 'transport') this.#options.kernelSteer?.(spec, add);
    else this.#kernelRoute(spec.destination.prefix, add);
  }

  /** Reference-counted: two policies may share a destination. */
  #kernelRoute(prefix: string, add: boolean): void {
    const n = (this.#kernelRoutes.get(prefix) ?? 0) + (add ? 1 : -1);
    if (n > 0) this.#kernelRoutes.set(prefix, n);
    else this.#kernelRoutes.delete(prefix);
    if ((add && n === 1) || (!add && n === 0)) this.#options.kernelRoute?.(prefix, add);
  }

  #putSa(key: string, sa: HeldSa): void {
    this.#sas.set(key, sa);
    indexAdd(this.#sasByReqid, sa.spec.reqid, sa);
    if (sa.spec.direction === 'in') this.#inboundSpis.set(sa.spec.spi >>> 0, (this.#inboundSpis.get(sa.spec.spi >>> 0) ?? 0) + 1);
  }

  #dropSa(key: string): void {
    const sa = this.#sas.get(key);
    if (!sa) return;
    this.#sas.delete(key);
    indexRemove(this.#sasByReqid, sa.spec.reqid, sa);
    const spi = sa.spec.spi >>> 0;
    const n = (this.#inboundSpis.get(spi) ?? 0) - (sa.spec.direction === 'in' ? 1 : 0);
    if (n > 0) this.#inboundSpis.set(spi, n);
    else this.#inboundSpis.delete(spi);
  }

  #putPolicy(key: string, spec: PolicySpec): void {
    this.#policies.set(key, spec);
    if (!spec.template) return;
    indexAdd(this.#policiesByReqid, spec.template.reqid, key);
  }

  #dropPolicy(key: string): void {
    const spec = this.#policies.get(key);
    this.#policies.delete(key);
    if (!spec?.template) return;
    indexRemove(this.#policiesByReqid, spec.template.reqid, key);
  }

  #sa(id: SaId): HeldSa {
    this.#open();
    const sa = this.#sas.get(saKey(id));
    if (!sa) throw new PosternError(ErrorCode.dataplaneNotFound, `no SA ${saKey(id)}`);
    return sa;
  }

  #open(): void {
    if (this.#closed) throw new PosternError(ErrorCode.dataplaneInvalid, 'data plane closed');
  }

  #emit(event: DataPlaneEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** As kernelRouteVia, leaving out destinations inside prefixes already routed to the TUN as a whole (the pools). */
export const kernelRouteOutside = (device: string, covered: readonly string[]) => {
  const outer = covered.map((p) => parsePrefix(p)).filter((p): p is ParsedPrefix => p !== undefined);
  const via = kernelRouteVia(device);
  return (prefix: string, add: boolean): void => {
    const inner = parsePrefix(prefix);
    if (inner && outer.some((o) => o.family === inner.family && inner.length >= o.length && prefixContains(o, inner.bytes))) return;
    via(prefix, add);
  };
};

/** Policy routing for transport mode: its own table, one rule per steered selector. */
export const STEERING_TABLE = 7350;

/**
 * The kernel side of a transport-mode policy: a rule sends traffic to the peer with the policy's
 * protocol and ports to a table that routes it into the hub's TUN, from the policy's source
 * address. The rule has no `from`: an unbound socket's source is chosen after the rules.
 */
export const kernelSteerVia = (device: string) => {
  const rulesPerDestination = new Map<string, number>();
  return (selectors: SteeredTraffic, add: boolean): void => {
    const { source, destination } = selectors;
    const protocol = destination.protocol ?? source.protocol;
    const match = [
      'to', destination.prefix,
      ...(protocol !== undefined ? ['ipproto', String(protocol)] : []),
      ...(protocol !== undefined && source.port !== undefined ? ['sport', String(source.port)] : []),
      ...(protocol !== undefined && destination.port !== undefined ? ['dport', String(destination.port)] : []),
    ];
    const v6 = destination.prefix.includes(':');
    const host = source.prefix.endsWith(v6 ? '/128' : '/32');
    const from = host ? ['src', source.prefix.slice(0, source.prefix.lastIndexOf('/'))] : [];
    const family = v6 ? ['-6'] : []; // issue 24: L2TP/IPsec over IPv6 steers by IPv6 rules
    const quiet = (args: string[]) => {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // Already gone with the device, or never there: nothing to undo.
      }
    };
    const rules = (rulesPerDestination.get(destination.prefix) ?? 0) + (add ? 1 : -1);
    if (rules > 0) rulesPerDestination.set(destination.prefix, rules);
    else rulesPerDestination.delete(destination.prefix);
    if (add) {
      quiet([...family, 'route', 'replace', destination.prefix, 'dev', device, ...from, 'table', String(STEERING_TABLE)]);
      quiet([...family, 'rule', 'add', ...match, 'lookup', String(STEERING_TABLE), 'priority', '100']);
    } else {
      quiet([...family, 'rule', 'del', ...match, 'lookup', String(STEERING_TABLE), 'priority', '100']);
      // The table's route goes with the last rule for that destination.
      if (rules <= 0) quiet([...family, 'route', 'del', destination.prefix, 'dev', device, 'table', String(STEERING_TABLE)]);
    }
  };
};

/** The kernel side of the SPD: a policy's destination routed to the hub's TUN. */
export const kernelRouteVia = (device: string) => (prefix: string, add: boolean): void => {
  try {
    execFileSync('ip', ['route', add ? 'replace' : 'del', prefix, 'dev', device], { stdio: 'ignore' });
  } catch {
    // Already gone with the device, or never there: nothing to undo.
  }
};
