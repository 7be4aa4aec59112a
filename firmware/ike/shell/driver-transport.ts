import { isIPv6 } from 'node:net';
import { NativeEndpoint } from '../../dataplane/native-endpoint.ts';
import type { Endpoint } from '../engine/types.ts';
import { DgramTransport, IKE_PORT, NAT_T_PORT, type IkeReceiver, type IkeTransport } from './transport.ts';

/** One local address's sockets: UDP 500 on node:dgram, UDP 4500 and raw ESP in the driver. */
interface Leg {
  readonly address: string;
  readonly ike: DgramTransport;
  readonly endpoint: NativeEndpoint;
  readonly raw: NativeEndpoint | undefined;
}

/**
 * UDP 500 on node:dgram, UDP 4500 on the driver's shared endpoint: ESP in UDP never reaches
 * JavaScript, and IKE on 4500 arrives here with the non-ESP marker already removed.
 * Dual stack (issue 24): one set of sockets per WAN address, at most one IPv4 and one IPv6; a
 * message leaves from the set of the family of the local address the engine names.
 */
export class DriverTransport implements IkeTransport {
  readonly #legs: readonly Leg[];

  private constructor(legs: readonly Leg[]) {
    this.#legs = legs;
  }

  /** UDP 4500 of the first (IPv4) address; `endpoint6` is the IPv6 one. */
  get endpoint(): NativeEndpoint {
    return (this.#leg(false) ?? this.#legs[0]!).endpoint;
  }

  /** Raw ESP (no NAT) for the tunnels on the same address; undefined when the raw socket is refused. */
  get rawEndpoint(): NativeEndpoint | undefined {
    return (this.#leg(false) ?? this.#legs[0]!).raw;
  }

  get endpoint6(): NativeEndpoint | undefined {
    return this.#leg(true)?.endpoint;
  }

  get rawEndpoint6(): NativeEndpoint | undefined {
    return this.#leg(true)?.raw;
  }

  /** The endpoints for UserspaceDataPlane's options, by family. */
  dataplaneEndpoints(): { udpEndpoint?: NativeEndpoint; rawEndpoint?: NativeEndpoint; udpEndpoint6?: NativeEndpoint; rawEndpoint6?: NativeEndpoint } {
    const v4 = this.#leg(false), v6 = this.#leg(true);
    return {
      ...(v4 ? { udpEndpoint: v4.endpoint } : {}), ...(v4?.raw ? { rawEndpoint: v4.raw } : {}),
      ...(v6 ? { udpEndpoint6: v6.endpoint } : {}), ...(v6?.raw ? { rawEndpoint6: v6.raw } : {}),
    };
  }

  /** The bound addresses, IPv4 first. */
  get addresses(): string[] {
    return this.#legs.map((l) => l.address);
  }

  static async open(addresses: string | readonly string[], receive: IkeReceiver): Promise<DriverTransport> {
    const list = typeof addresses === 'string' ? [addresses] : addresses;
    if (list.length === 0 || list.length > 2 || (list.length === 2 && isIPv6(list[0]!) === isIPv6(list[1]!))) throw new Error('DriverTransport: one address per family');
    const legs: Leg[] = [];
    try {
      for (const address of [...list].sort((a, b) => Number(isIPv6(a)) - Number(isIPv6(b)))) legs.push(await openLeg(address, receive));
    } catch (e) {
      await Promise.all(legs.map(closeLeg));
      throw e;
    }
    return new DriverTransport(legs);
  }

  #leg(v6: boolean): Leg | undefined {
    return this.#legs.find((l) => isIPv6(l.address) === v6);
  }

  send(packet: Uint8Array, from: Endpoint, to: Endpoint): void {
    const leg = this.#leg(isIPv6(to.address));
    if (!leg) return; // no WAN address of that family: nothing can carry it
    // An endpoint bound to :: answers from the address the peer wrote to (IPV6_PKTINFO).
    const source = leg.address === '::' && isIPv6(from.address) && from.address !== '::' ? from.address : undefined;
    if (from.port === NAT_T_PORT) leg.endpoint.sendIke(packet, to, source);
    else leg.ike.send(packet, from, to);
  }

  async close(): Promise<void> {
    await Promise.all(this.#legs.map(closeLeg));
  }
}

async function openLeg(address: string, receive: IkeReceiver): Promise<Leg> {
  const ike = await DgramTransport.open(address, receive, [IKE_PORT]);
  try {
    const endpoint = NativeEndpoint.open(address, NAT_T_PORT, (packet, from, local) => receive(packet, from, { address: local ?? address, port: NAT_T_PORT }));
    let raw: NativeEndpoint | undefined;
    try {
      raw = NativeEndpoint.openRaw(address);
    } catch {
      raw = undefined; // children without NAT then get a socket each
    }
    return { address, ike, endpoint, raw };
  } catch (e) {
    await ike.close();
    throw e;
  }
}

async function closeLeg(leg: Leg): Promise<void> {
  await leg.ike.close();
  leg.endpoint.close();
  leg.raw?.close();
}
