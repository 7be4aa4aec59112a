import { execFileSync } from 'node:child_process';
import type { Logger } from '../../log/logger.ts';
import type { NativeEndpoint } from '../../dataplane/native-endpoint.ts';
import type { NativeHub } from '../../dataplane/native-hub.ts';
import { NativeSa, NativeTunnel } from '../../dataplane/native.ts';
import type { ChildSaInfo } from '../engine/types.ts';
import { graceTimer, REKEYED_INBOUND_GRACE_MS, type GraceTimer } from './rekeyed-inbound-grace.ts';

export interface ChildInstallerOptions {
  /** The shared UDP 4500 endpoint, for children with UDP encapsulation, and the raw ESP one for the rest. */
  readonly endpoint?: NativeEndpoint;
  readonly rawEndpoint?: NativeEndpoint;
  /** The shared TUN: children on the endpoint run on it instead of a TUN each. */
  readonly hub?: NativeHub;
  /** The TUN devices' own address ("10.255.0.2"): the gateway's inner address for its tunnels. */
  readonly tunnelAddress: string;
  readonly mtu?: number;
  readonly replayWindow?: number;
  readonly log: Logger;
  /** Prefixes already routed to the hub as a whole (the pools): no kernel route per client inside them. */
  readonly routedPrefixes?: readonly string[];
  /** How the old inbound SA of a rekey is kept a little longer (tests step it by hand). */
  readonly graceTimer?: GraceTimer;
  readonly rekeyedInboundGraceMs?: number;
}

/** Is `inner` ("10.10.0.7/32") inside `outer` ("10.10.0.0/16")? IPv4 only, as the hub's routes. */
function inside(inner: string, outer: string): boolean {
  const [a = '', al = '32'] = inner.split('/');
  const [b = '', bl = '32'] = outer.split('/');
  const n = (ip: string) => ip.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0;
  const bits = Number(bl);
  if (Number(al) < bits) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((n(a) & mask) >>> 0) === ((n(b) & mask) >>> 0);
}

/**
 * Puts negotiated child SAs into the data plane: both SAs into the driver, one tunnel (TUN + worker
 * threads) per child with routes to the peer's selectors, and takes them out again on delete.
 */
export class ChildInstaller {
  readonly #options: ChildInstallerOptions;
  /** By inbound SPI: during a rekey the old and the new child share one tunnel. */
  readonly #tunnels = new Map<number, NativeTunnel>();
  /** Each child's SAs by inbound SPI, for byte counters (the tunnel counts packets only). */
  readonly #childSas = new Map<number, { inbound: NativeSa; outbound: NativeSa }>();
  /** Outbound SAs of rekeys we answered, waiting for the old child's delete (by its inbound SPI). */
  readonly #pendingOutbound = new Map<number, NativeSa>();
  /** Per tunnel, the old inbound SA of its last rekey, still opening late packets until its grace ends. */
  readonly #retiring = new Map<NativeTunnel, { spi: number; retire: () => void }>();
  #next = 0;

  constructor(options: ChildInstallerOptions) {
    this.#options = options;
  }

  #sas(child: ChildSaInfo): { inbound: NativeSa; outbound: NativeSa } {
    const sa = (half: ChildSaInfo['inbound'], replayWindow: number) => NativeSa.create({
      spi: half.spi, suite: child.suite, esn: child.esn, replayWindow,
      encryptionKey: half.encryption, ...(half.integrity ? { integrityKey: half.integrity } : {}),
    });
    return { inbound: sa(child.inbound, this.#options.replayWindow ?? 4096), outbound: sa(child.outbound, 0) };
  }

  install(child: ChildSaInfo): NativeTunnel {
    const { inbound, outbound } = this.#sas(child);
    this.#childSas.set(child.inbound.spi, { inbound, outbound });
    const common = {
      name: `pst${this.#next++}`, mtu: this.#options.mtu ?? 1400, address: this.#options.tunnelAddress, prefixLength: 32,
      remoteSelectors: child.remoteTs.filter((ts) => /^[\d.]+\/\d+$/.test(ts)), localSelectors: child.localTs.filter((ts) => /^[\d.]+\/\d+$/.test(ts)),
    };
    const encap = child.encapsulation;
    const { hub, rawEndpoint } = this.#options;
    const endpoint = encap ? this.#options.endpoint : rawEndpoint;
    const onHub = Boolean(endpoint && hub);
    // Transport mode (L2TP/IPsec): the TUN carries whole datagrams between the two hosts; what goes into it is steered by policy routing.
    const shared = { ...(endpoint ? { endpoint } : {}), ...(onHub && hub ? { hub } : {}), ...(child.mode === 'transport' ? { transport: true } : {}) };
    const tunnel = encap
      ? NativeTunnel.start({
        ...common, ...shared, framing: 'esp-udp', outbound, inbound, keepaliveMs: 20_000,
        local: { address: child.inbound.destination, port: encap.localPort }, remote: { address: child.outbound.destination, port: encap.remotePort },
      })
      : NativeTunnel.start({ ...common, ...shared, framing: 'esp', outbound, inbound, local: { address: child.inbound.destination, port: 0 }, remote: { address: child.outbound.destination, port: 0 } });
    const device = onHub && hub ? hub.name : tunnel.name;
    for (const prefix of common.remoteSelectors) {
      if (onHub) tunnel.route(prefix);
      const covered = onHub && (this.#options.routedPrefixes ?? []).some((outer) => inside(prefix, outer));
      if (!covered) execFileSync('ip', ['route', 'replace', prefix, 'dev', device]);
    }
    this.#tunnels.set(child.inbound.spi, tunnel);
    this.#options.log.info('child SA installed', { tunnel: device, suite: child.suite, inSpi: child.inbound.spi.toString(16), outSpi: child.outbound.spi.toString(16), encapsulated: Boolean(encap) });
    return tunnel;
  }

  /**
   * A rekeyed child (RFC 7296 §2.8) goes into the old one's tunnel: the new inbound SA is accepted
   * at once beside the old, and outbound traffic moves to the new SA; the old inbound SA leaves
   * with its delete. No packet is dropped on the way.
   */
  rekey(old: ChildSaInfo, child: ChildSaInfo, initiated = true, confirmed = false): void {
    if (confirmed) {
      // Announced before with its outbound SA pending (IKEv1 QM2); the peer has it now (QM3).
      const pending = this.#pendingOutbound.get(old.inbound.spi);
      const tunnel = this.#tunnels.get(child.inbound.spi);
      if (pending && tunnel && pending === this.#childSas.get(child.inbound.spi)?.outbound) {
        this.#pendingOutbound.delete(old.inbound.spi);
        tunnel.setOutbound(pending);
      }
      return;
    }
    const tunnel = this.#tunnels.get(old.inbound.spi);
    if (!tunnel) return void this.install(child);
    const { inbound, outbound } = this.#sas(child);
    this.#childSas.set(child.inbound.spi, { inbound, outbound });
    tunnel.addInbound(inbound);
    // The responder of a rekey switches when the old SA's delete comes: the initiator has the new one by then.
    if (initiated) tunnel.setOutbound(outbound);
    else this.#pendingOutbound.set(old.inbound.spi, outbound);
    this.#tunnels.set(child.inbound.spi, tunnel);
    this.#options.log.info('child SA rekeyed in place', { tunnel: tunnel.name, inSpi: child.inbound.spi.toString(16), outSpi: child.outbound.spi.toString(16) });
  }

  /** MOBIKE or a NAT rebinding: the child now runs to the peer's new address. */
  move(child: ChildSaInfo): void {
    const tunnel = this.#tunnels.get(child.inbound.spi);
    if (!tunnel) return;
    tunnel.setPeer(child.outbound.destination, child.encapsulation?.remotePort ?? 0);
    this.#options.log.info('child SA moved', { inSpi: child.inbound.spi.toString(16), peer: `${child.outbound.destination}:${child.encapsulation?.remotePort ?? 0}` });
  }

  remove(child: ChildSaInfo): void {
    this.#childSas.delete(child.inbound.spi);
    const tunnel = this.#tunnels.get(child.inbound.spi);
    if (!tunnel) return;
    this.#tunnels.delete(child.inbound.spi);
    const next = this.#pendingOutbound.get(child.inbound.spi);
    this.#pendingOutbound.delete(child.inbound.spi);
    if (next) tunnel.setOutbound(next);
    if ([...this.#tunnels.values()].includes(tunnel)) {
      // A newer child still uses the tunnel: the old inbound SA opens late packets for a moment more.
      // One old inbound SA kept per tunnel: rekeys in quick succession must not fill its inbound slots.
      const spi = child.inbound.spi;
      this.#retiring.get(tunnel)?.retire();
      const retire = () => {
        timer.cancel();
        if (this.#retiring.get(tunnel)?.spi === spi) this.#retiring.delete(tunnel);
        tunnel.removeInbound(spi);
      };
      const timer = (this.#options.graceTimer ?? graceTimer)(this.#options.rekeyedInboundGraceMs ?? REKEYED_INBOUND_GRACE_MS, retire);
      this.#retiring.set(tunnel, { spi, retire });
      this.#options.log.info('old child SA removed after its rekey (its inbound SA still opens late packets for a moment)', { tunnel: tunnel.name, inSpi: spi.toString(16) });
      return;
    }
    this.#retiring.get(tunnel)?.retire();
    tunnel.stop(); // the TUN goes with it, and its routes with the TUN
    this.#options.log.info('child SA removed', { tunnel: tunnel.name, inSpi: child.inbound.spi.toString(16) });
  }

  /** Octets and packets through a child's SAs so far (the inner packets: decrypted in, before encryption out). */
  bytes(inboundSpi: number): { in: number; out: number; packetsIn: number; packetsOut: number } | undefined {
    const sas = this.#childSas.get(inboundSpi);
    if (!sas) return undefined;
    const [inbound, outbound] = [sas.inbound.counters(), sas.outbound.counters()];
    return { in: Number(inbound.bytes), out: Number(outbound.bytes), packetsIn: Number(inbound.packets), packetsOut: Number(outbound.packets) };
  }

  tunnel(inboundSpi: number): NativeTunnel | undefined {
    return this.#tunnels.get(inboundSpi);
  }

  stopAll(): void {
    this.#retiring.clear();
    this.#childSas.clear();
    for (const t of new Set(this.#tunnels.values())) t.stop();
    this.#tunnels.clear();
  }
}
