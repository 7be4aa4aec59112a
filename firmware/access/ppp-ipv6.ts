/*
 * IPv6 for one PPP session (RFC 5072 §5): IPV6CP agrees interface identifiers, then the gateway
 * advertises the /64 that holds the session's pool address (RFC 4861 §6.2, prefix with the A flag),
 * so SLAAC on the client forms prefix + the identifier IPV6CP gave it: exactly the leased address,
 * routed to this session. Router Solicitations are answered, adverts repeated well inside the router
 * lifetime, DNS servers sent as RDNSS (RFC 8106). Sans-I/O: packets and time in, packets out.
 *
 * Only the leased address may source traffic into the network: privacy addresses (RFC 8981) would
 * need per-address routes and are dropped and counted.
 */
import { Ipv6cpHandler, linkLocalFromInterfaceIdBytes } from '../ppp/ipv6cp.ts';
import { PppProtocol } from '../ppp/frame.ts';
import type { ExtraNcp } from '../ppp/link.ts';
import { encodeRouterAdvertisement, parseRouterSolicitation } from '../ppp/router-advert.ts';
import { parseIp } from '../util/ip.ts';

const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** RFC 4861 §6.2.1 allows up to 9000 s; 1800 s is the default, refreshed every 600 s. */
const ROUTER_LIFETIME_S = 1800;
export const ADVERT_INTERVAL_MS = 600_000;

export interface PppIpv6Options {
  /** The session's IPv6 address from the pool (allocated on first use). */
  readonly address: () => string | undefined;
  readonly dns: readonly string[];
  /** 8 random bytes: our interface identifier. */
  readonly random: (n: number) => Uint8Array;
  readonly mtu: number;
}

export class PppIpv6 {
  readonly ncp: ExtraNcp;
  readonly drops: Record<string, number> = {};
  readonly #options: PppIpv6Options;
  readonly #handler: Ipv6cpHandler;
  #nextAdvert: number | undefined;

  constructor(options: PppIpv6Options) {
    this.#options = options;
    let local = options.random(8);
    if (local.every((b) => b === 0)) local = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]);
    this.#handler = new Ipv6cpHandler({ localInterfaceId: local, peerInterfaceId: () => this.#address()?.subarray(8), randomId: () => options.random(8) });
    this.ncp = { handler: this.#handler, dataProtocol: PppProtocol.IPv6 };
  }

  /** The leased address, once IPV6CP is up. */
  get address(): string | undefined {
    return this.#handler.negotiated.peerInterfaceId ? this.#options.address() : undefined;
  }

  /** IPV6CP is up: the first advert, to all nodes. */
  up(now: number): Uint8Array[] {
    this.#nextAdvert = now + ADVERT_INTERVAL_MS;
    const ra = this.#advert(ALL_NODES);
    return ra ? [ra] : [];
  }

  down(): void {
    this.#nextAdvert = undefined;
  }

  nextTimeout(): number | undefined {
    return this.#nextAdvert;
  }

  tick(now: number): Uint8Array[] {
    if (this.#nextAdvert === undefined || now < this.#nextAdvert) return [];
    return this.up(now);
  }

  /**
   * An IPv6 packet from the client: `forward` for the network, or what to answer (an advert for a
   * solicitation). Link-local and foreign sources never reach the network.
   */
  fromPeer(packet: Uint8Array): { readonly forward: boolean; readonly answer: Uint8Array[] } {
    const rs = parseRouterSolicitation(packet);
    if (rs.ok) {
      const unspecified = rs.source.every((b) => b === 0);
      const ra = this.#advert(unspecified ? ALL_NODES : rs.source);
      return { forward: false, answer: ra ? [ra] : [] };
    }
    const mine = this.#address();
    if (mine && packet.length >= 40 && Buffer.compare(Buffer.from(packet.subarray(8, 24)), Buffer.from(mine)) === 0) return { forward: true, answer: [] };
    const reason = packet[8] === 0xfe && (packet[9]! & 0xc0) === 0x80 ? 'IPv6 link-local (not forwarded)' : 'IPv6 from another source';
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return { forward: false, answer: [] };
  }

  #address(): Buffer | undefined {
    const text = this.#options.address();
    const parsed = text === undefined ? undefined : parseIp(text);
    return parsed?.family === 6 ? parsed.bytes : undefined;
  }

  #advert(destination: Uint8Array): Uint8Array | undefined {
    const mine = this.#address();
    const ours = this.#handler.negotiated.localInterfaceId;
    if (!mine || !ours) return undefined;
    const prefix = new Uint8Array(16);
    prefix.set(mine.subarray(0, 8));
    const servers = this.#options.dns.map((d) => parseIp(d)).filter((p) => p?.family === 6).map((p) => Uint8Array.from(p!.bytes));
    return encodeRouterAdvertisement({
      source: linkLocalFromInterfaceIdBytes(ours),
      destination,
      curHopLimit: 64,
      routerLifetime: ROUTER_LIFETIME_S,
      prefix: { prefix, length: 64, onLink: true, autonomous: true, validLifetime: 86_400, preferredLifetime: 14_400 },
      mtu: this.#options.mtu,
      ...(servers.length > 0 ? { rdnss: { lifetime: 3 * ADVERT_INTERVAL_MS / 1000, servers } } : {}),
    });
  }
}
