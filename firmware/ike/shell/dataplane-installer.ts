/*
 * Puts negotiated child SAs into the data plane through the `DataPlane` interface, the way IKE
 * daemons drive a kernel: each child is a reqid with an inbound and an outbound SA and a policy per
 * selector pair. A rekey adds the new SAs under the same reqid (the back end swaps them in place);
 * a reauthentication's new child takes the policies over while the old one still receives; MOBIKE
 * and NAT changes update the SAs. The back end applies each call at once and in order.
 */
import type { Logger } from '../../log/logger.ts';
import type { NativeTunnel } from '../../dataplane/native.ts';
import type { PolicySpec, SaId, SaLifetime, SaSpec, TrafficSelector } from '../../dataplane/types.ts';
import type { UserspaceDataPlane } from '../../dataplane/userspace.ts';
import type { ChildSaHalf, ChildSaInfo } from '../engine/types.ts';
import { graceTimer, REKEYED_INBOUND_GRACE_MS, type GraceTimer } from './rekeyed-inbound-grace.ts';

export interface DataPlaneInstallerOptions {
  readonly dataplane: UserspaceDataPlane;
  readonly log: Logger;
  readonly replayWindow?: number;
  /** How the old inbound SA of a rekey is kept a little longer (tests step it by hand). */
  readonly graceTimer?: GraceTimer;
  readonly rekeyedInboundGraceMs?: number;
}

interface Installed {
  readonly reqid: number;
  /** The SAs as installed now (MOBIKE moves them). */
  inbound: SaSpec;
  outbound: SaSpec | undefined;
}

const IPV4_PREFIX = /^[\d.]+\/\d+$/;
/** A transport-mode selector as the engines print it: "192.0.2.1/32[17/1701]" (protocol, port); IPv6 too (issue 24: L2TP/IPsec over IPv6). */
const TRANSPORT_SELECTOR = /^([\d.]+\/\d+|[\da-fA-F:.]*:[\da-fA-F:.]*\/\d+)(?:\[(\d+)(?:\/(\d+))?\])?$/;
// Kept per policy: one flat string (a template literal would leave a chain of cons strings behind it, issue 23).
const policyKey = (p: PolicySpec): string => [p.direction, p.source.prefix, p.destination.prefix].join('>');
/** IKE rekeys by time: the data plane's own limits stay unset. One object for every SA's spec. */
const NO_LIFETIME: SaLifetime = Object.freeze({});
const id = (sa: SaSpec): SaId => ({ spi: sa.spi, destination: sa.destination });

export class DataPlaneInstaller {
  readonly #options: DataPlaneInstallerOptions;
  /** By inbound SPI. */
  readonly #children = new Map<number, Installed>();
  /** Outbound SAs of rekeys we answered, waiting for the old child's delete (by its inbound SPI). */
  readonly #pendingOutbound = new Map<number, { child: number; spec: SaSpec }>();
  /** Who holds each policy, newest last: a reauthentication's child takes it over, and gives it back if it goes first. */
  readonly #owners = new Map<string, { spec: PolicySpec; reqids: number[] }>();
  /** Per reqid: the policies it claimed, and how many installed children (a rekey's two) use it. */
  readonly #reqids = new Map<number, { keys: readonly string[]; children: number }>();
  /** Per reqid, the old inbound SA of its last rekey, still opening late packets until its grace ends. */
  readonly #retiring = new Map<number, { sa: SaSpec; timer: { cancel(): void } }>();
  #nextReqid = 1;

  constructor(options: DataPlaneInstallerOptions) {
    this.#options = options;
  }

  install(child: ChildSaInfo): void {
    const reqid = this.#nextReqid++;
    const { inbound, outbound } = this.#specs(child, reqid);
    this.#reqids.set(reqid, { keys: [], children: 0 });
    this.#put(child.inbound.spi, { reqid, inbound, outbound });
    this.#options.dataplane.batch(() => {
      this.#call('add the inbound SA', () => this.#options.dataplane.addSa(inbound));
      this.#call('add the outbound SA', () => this.#options.dataplane.addSa(outbound));
      for (const policy of this.#policies(child, reqid)) this.#claim(policy, reqid);
    });
    this.#options.log.info('child SA installed', { reqid, suite: child.suite, inSpi: child.inbound.spi.toString(16), outSpi: child.outbound.spi.toString(16), encapsulated: Boolean(child.encapsulation) });
  }

  /**
   * A rekeyed child (RFC 7296 §2.8) joins the old one's reqid: its inbound SA is accepted at once
   * beside the old; the outbound SA switches now if we started the rekey, else with the old child's
   * delete, since until then the peer may not have the new SA.
   */
  rekey(old: ChildSaInfo, child: ChildSaInfo, initiated = true, confirmed = false): void {
    if (confirmed) return this.#confirm(old, child);
    const previous = this.#children.get(old.inbound.spi);
    if (!previous) return this.install(child);
    const { inbound, outbound } = this.#specs(child, previous.reqid);
    this.#options.dataplane.batch(() => {
      this.#call('add the rekeyed inbound SA', () => this.#options.dataplane.addSa(inbound));
      if (initiated) this.#call('add the rekeyed outbound SA', () => this.#options.dataplane.addSa(outbound));
    });
    if (!initiated) this.#pendingOutbound.set(old.inbound.spi, { child: child.inbound.spi, spec: outbound });
    this.#put(child.inbound.spi, { reqid: previous.reqid, inbound, outbound: initiated ? outbound : undefined });
    this.#options.log.info('child SA rekeyed in place', { reqid: previous.reqid, inSpi: child.inbound.spi.toString(16), outSpi: child.outbound.spi.toString(16) });
  }

  /** A rekey answered earlier (its outbound SA pending) is known to the peer now: send on it. */
  #confirm(old: ChildSaInfo, child: ChildSaInfo): void {
    const pending = this.#pendingOutbound.get(old.inbound.spi);
    const successor = this.#children.get(child.inbound.spi);
    if (!pending || pending.child !== child.inbound.spi || !successor) return;
    this.#pendingOutbound.delete(old.inbound.spi);
    this.#call('switch to the rekeyed outbound SA', () => this.#options.dataplane.addSa(pending.spec));
    successor.outbound = pending.spec;
    this.#options.log.info('rekeyed child SA confirmed: sending on it', { reqid: successor.reqid, outSpi: child.outbound.spi.toString(16) });
  }

  /** MOBIKE or a NAT rebinding: the child's SAs now run between these addresses and ports. */
  move(child: ChildSaInfo): void {
    const installed = this.#children.get(child.inbound.spi);
    if (!installed) return;
    const moved = this.#specs(child, installed.reqid);
    const update = (from: SaSpec, to: SaSpec) => this.#options.dataplane.updateSa(id(from), { source: to.source, destination: to.destination, encapsulation: to.encapsulation ?? null });
    this.#call('move the inbound SA', () => update(installed.inbound, moved.inbound));
    if (installed.outbound) {
      const out = installed.outbound;
      this.#call('move the outbound SA', () => update(out, moved.outbound));
      installed.outbound = moved.outbound;
    }
    installed.inbound = moved.inbound;
    this.#options.log.info('child SA moved', { inSpi: child.inbound.spi.toString(16), peer: `${child.outbound.destination}:${child.encapsulation?.remotePort ?? 0}` });
  }

  remove(child: ChildSaInfo): void {
    const installed = this.#children.get(child.inbound.spi);
    if (!installed) return;
    this.#children.delete(child.inbound.spi);
    const uses = this.#reqids.get(installed.reqid);
    if (uses) uses.children--;
    const next = this.#pendingOutbound.get(child.inbound.spi);
    this.#pendingOutbound.delete(child.inbound.spi);
    if (next) {
      this.#call('switch to the rekeyed outbound SA', () => this.#options.dataplane.addSa(next.spec));
      const successor = this.#children.get(next.child);
      if (successor) successor.outbound = next.spec;
    }
    const sharing = (uses?.children ?? 0) > 0;
    const reqid = installed.reqid;
    this.#options.dataplane.batch(() => {
      // One old inbound SA kept per reqid (rekeys in quick succession must not fill the tunnel's inbound
      // slots), and none once the whole child goes: the one kept so far goes now.
      this.#retire(reqid);
      if (!sharing) {
        for (const key of uses?.keys ?? []) this.#release(key, reqid);
        this.#reqids.delete(reqid);
      }
      if (installed.outbound) {
        const out = installed.outbound;
        this.#call('delete the outbound SA', () => this.#options.dataplane.deleteSa(id(out)));
      }
      if (sharing) {
        const timer = (this.#options.graceTimer ?? graceTimer)(this.#options.rekeyedInboundGraceMs ?? REKEYED_INBOUND_GRACE_MS, () => this.#retire(reqid));
        this.#retiring.set(reqid, { sa: installed.inbound, timer });
      } else this.#call('delete the inbound SA', () => this.#options.dataplane.deleteSa(id(installed.inbound)));
    });
    this.#options.log.info(sharing ? 'old child SA removed after its rekey (its inbound SA still opens late packets for a moment)' : 'child SA removed', { reqid, inSpi: child.inbound.spi.toString(16) });
  }

  /** The grace of the reqid's old inbound SA is over (or a newer one replaces it, or the reqid went): delete it. */
  #retire(reqid: number): void {
    const r = this.#retiring.get(reqid);
    if (!r) return;
    this.#retiring.delete(reqid);
    r.timer.cancel();
    this.#call('delete the old inbound SA', () => this.#options.dataplane.deleteSa(id(r.sa)));
  }

  /** Octets and packets through a child's SAs so far (the inner packets: decrypted in, before encryption out). */
  bytes(inboundSpi: number): { in: number; out: number; packetsIn: number; packetsOut: number } | undefined {
    const c = this.#children.get(inboundSpi);
    if (!c) return undefined;
    const counters = (sa: SaSpec | undefined) => (sa ? this.#options.dataplane.saCounters(id(sa)) : undefined);
    const [inbound, outbound] = [counters(c.inbound), counters(c.outbound)];
    return { in: Number(inbound?.bytes ?? 0n), out: Number(outbound?.bytes ?? 0n), packetsIn: Number(inbound?.packets ?? 0n), packetsOut: Number(outbound?.packets ?? 0n) };
  }

  /** The reqid a child (by its inbound SPI) was installed under; its rekeys keep it. */
  reqidOf(inboundSpi: number): number | undefined {
    return this.#children.get(inboundSpi)?.reqid;
  }

  /** Whether any installed child still uses the reqid (a rekey's new half does after the old one goes). */
  hasReqid(reqid: number): boolean {
    return (this.#reqids.get(reqid)?.children ?? 0) > 0;
  }

  tunnel(inboundSpi: number): NativeTunnel | undefined {
    const c = this.#children.get(inboundSpi);
    return c && this.#options.dataplane.tunnel(c.reqid);
  }

  stopAll(): void {
    for (const r of this.#retiring.values()) r.timer.cancel();
    this.#retiring.clear();
    this.#children.clear();
    this.#pendingOutbound.clear();
    this.#owners.clear();
    this.#reqids.clear();
    void this.#options.dataplane.close();
  }

  /** A child (by inbound SPI) installed under its reqid; the same SPI again replaces it. */
  #put(inboundSpi: number, installed: Installed): void {
    const before = this.#children.get(inboundSpi);
    const was = before && this.#reqids.get(before.reqid);
    if (was) was.children--;
    this.#children.set(inboundSpi, installed);
    const uses = this.#reqids.get(installed.reqid);
    if (uses) uses.children++;
    else this.#reqids.set(installed.reqid, { keys: [], children: 1 });
  }

  #specs(child: ChildSaInfo, reqid: number): { inbound: SaSpec; outbound: SaSpec } {
    const encap = child.encapsulation;
    // Transport mode behind a NAT: the peer's NAT-OA goes with both SAs (XFRM's encap_oa).
    const oa = encap && child.mode === 'transport' && child.originalAddresses ? { originalAddress: child.originalAddresses.remote } : {};
    const sa = (half: ChildSaHalf, direction: 'in' | 'out'): SaSpec => ({
      spi: half.spi, source: half.source, destination: half.destination, direction, mode: child.mode, suite: child.suite,
      keys: { encryption: half.encryption, ...(half.integrity ? { integrity: half.integrity } : {}) }, esn: child.esn,
      replayWindow: direction === 'in' ? this.#options.replayWindow ?? 4096 : 0, reqid, lifetime: NO_LIFETIME,
      ...(encap ? { encapsulation: direction === 'out' ? { sourcePort: encap.localPort, destinationPort: encap.remotePort, ...oa } : { sourcePort: encap.remotePort, destinationPort: encap.localPort, ...oa } } : {}),
    });
    return { inbound: sa(child.inbound, 'in'), outbound: sa(child.outbound, 'out') };
  }

  /**
   * One outbound and one inbound policy per pair of IPv4 selectors (the hub routes IPv4). Tunnel
   * mode selects by address; transport mode (L2TP/IPsec, between the two hosts over IPv4 or IPv6)
   * also by protocol and port, which the userspace back end steers into the hub by policy routing.
   */
  #policies(child: ChildSaInfo, reqid: number): PolicySpec[] {
    const selectors = (list: readonly string[]) => list.flatMap((ts): TrafficSelector[] => {
      if (child.mode === 'tunnel') return IPV4_PREFIX.test(ts) ? [{ prefix: ts }] : [];
      const m = TRANSPORT_SELECTOR.exec(ts);
      if (!m) return [];
      const protocol = m[2] === undefined || m[2] === '0' ? undefined : Number(m[2]);
      return [{ prefix: m[1]!, ...(protocol !== undefined ? { protocol } : {}), ...(protocol !== undefined && m[3] !== undefined ? { port: Number(m[3]) } : {}) }];
    });
    const me = child.inbound.destination;
    const peer = child.outbound.destination;
    const mode = child.mode;
    return selectors(child.localTs).flatMap((l) => selectors(child.remoteTs).flatMap((r): PolicySpec[] => [
      { source: l, destination: r, direction: 'out', action: 'protect', priority: 100, template: { source: me, destination: peer, mode, reqid } },
      { source: r, destination: l, direction: 'in', action: 'protect', priority: 100, template: { source: peer, destination: me, mode, reqid } },
    ]));
  }

  #claim(policy: PolicySpec, reqid: number): void {
    const key = policyKey(policy);
    // Replaced, not pushed to: an array of the exact size (a push reserves a dozen more slots).
    const uses = this.#reqids.get(reqid);
    if (uses && !uses.keys.includes(key)) uses.keys = [...uses.keys, key];
    const held = this.#owners.get(key);
    if (!held) {
      this.#owners.set(key, { spec: policy, reqids: [reqid] });
      return this.#call('add a policy', () => this.#options.dataplane.addPolicy(policy));
    }
    held.reqids = [...held.reqids, reqid];
    held.spec = policy;
    this.#call('take a policy over', () => this.#options.dataplane.updatePolicy(policy));
  }

  /** A child going: its policy goes too, or back to the newest child still holding it. */
  #release(key: string, reqid: number): void {
    const held = this.#owners.get(key);
    if (!held?.reqids.includes(reqid)) return;
    const wasOwner = held.reqids.at(-1) === reqid;
    held.reqids = held.reqids.filter((r) => r !== reqid);
    const back = held.reqids.at(-1);
    if (back === undefined) {
      this.#owners.delete(key);
      return this.#call('delete a policy', () => this.#options.dataplane.deletePolicy(held.spec));
    }
    if (!wasOwner || !held.spec.template) return;
    held.spec = { ...held.spec, template: { ...held.spec.template, reqid: back } };
    const spec = held.spec;
    this.#call('give a policy back', () => this.#options.dataplane.updatePolicy(spec));
  }

  /** The back end applies the call before it returns its promise; a refusal is logged, never thrown at the engine. */
  #call(what: string, call: () => Promise<unknown>): void {
    call().catch((error: unknown) => this.#options.log.error(`data plane: could not ${what}`, { detail: error instanceof Error ? error.message : String(error) }));
  }
}
