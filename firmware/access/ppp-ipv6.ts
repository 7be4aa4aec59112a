/*
 * IPv6 for one PPP session (RFC 5072 §5): IPV6CP agrees interface identifiers, then the gateway
 * advertises the /64 that holds the session's pool address (RFC 4861 §6.2, prefix with the A flag),
 * so SLAAC on the client forms prefix + the identifier IPV6CP gave it: exactly the leased address,
 * routed to this session. Router Solicitations are answered, adverts repeated well inside the router
 * lifetime, DNS servers sent as RDNSS (RFC 8106). Sans-I/O: packets and time in, packets out.
 *
 * What may source traffic into the network is the session's assignment: a /64 of its own (issue 20:
 * Windows sends from temporary addresses, RFC 8981, inside the /64 it was advertised, so any source in
 * that /64 and nothing else), or, from a pool with no /64 to spare, the leased /128 alone (then the
 * advertised /64 is shared and privacy addresses are dropped). Everything else is dropped and counted.
 */
import { Ipv6cpHandler, linkLocalFromInterfaceIdBytes } from '../ppp/ipv6cp.ts';
import { PppProtocol } from '../ppp/frame.ts';
import type { ExtraNcp } from '../ppp/link.ts';
import { encodeRouterAdvertisement, parseRouterSolicitation } from '../ppp/router-advert.ts';
import { ipv6Text, parseIp } from '../util/ip.ts';

const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** RFC 4861 §6.2.1 allows up to 9000 s; 1800 s is the default, refreshed every 600 s. */
const ROUTER_LIFETIME_S = 1800;
export const ADVERT_INTERVAL_MS = 600_000;

/** What a session may use: its /128, or a /64 of its own whose interface identifier `address` names. */
export interface Ipv6Assignment {
  /** The pool's /128; or, for a /64, the address the gateway asks the peer to form (its IPV6CP identifier). */
  readonly address: string;
  /** 128: that address alone is the session's; 64: every address in its /64 (issue 20). */
  readonly prefixLength: 64 | 128;
}

export interface PppIpv6Options {
  /** The session's assignment (allocated on first use); undefined: none (IPv6 stays unrouted). */
  readonly assignment: () => Ipv6Assignment | undefined;
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

  /**
   * The session's address once IPV6CP is up: the /128, or in a /64 the one SLAAC forms there from the
   * identifier IPV6CP agreed (the peer may have insisted on its own).
   */
  get address(): string | undefined {
    const peerId = this.#handler.negotiated.peerInterfaceId;
    const a = this.#options.assignment();
    const bytes = this.#address();
    if (!peerId || !a || !bytes) return undefined;
    if (a.prefixLength === 128) return a.address;
    const formed = Uint8Array.from(bytes);
    formed.set(peerId.subarray(0, 8), 8);
    return ipv6Text(formed);
  }

  /** The prefix routed to the session and allowed as its sources ("fd00:10:0:5::/64" or "fd00:10::5/128"), once IPV6CP is up. */
  get routedPrefix(): string | undefined {
    const a = this.#options.assignment();
    const bytes = this.#address();
    if (!this.#handler.negotiated.peerInterfaceId || !a || !bytes) return undefined;
    if (a.prefixLength === 128) return `${a.address}/128`;
    const network = Uint8Array.from(bytes);
    network.fill(0, 8);
    return `${ipv6Text(network)}/64`;
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
   * solicitation). Link-local sources and sources outside the assignment never reach the network.
   */
  fromPeer(packet: Uint8Array): { readonly forward: boolean; readonly answer: Uint8Array[]; readonly dropped?: string } {
    const rs = parseRouterSolicitation(packet);
    if (rs.ok) {
      const unspecified = rs.source.every((b) => b === 0);
      const ra = this.#advert(unspecified ? ALL_NODES : rs.source);
      return { forward: false, answer: ra ? [ra] : [] };
    }
    const mine = this.#address();
    const compared = this.#options.assignment()?.prefixLength === 64 ? 8 : 16;
    if (mine && packet.length >= 40 && Buffer.compare(Buffer.from(packet.subarray(8, 8 + compared)), mine.subarray(0, compared)) === 0) return { forward: true, answer: [] };
    // Duplicate address detection sends from :: (RFC 4862 §5.4.2): the link's own business, like link-local.
    const unspecified = packet.length >= 24 && packet.subarray(8, 24).every((b) => b === 0);
    const reason = packet[8] === 0xfe && (packet[9]! & 0xc0) === 0x80 ? 'IPv6 link-local (not forwarded)' : unspecified ? 'IPv6 from :: (not forwarded)' : 'IPv6 from another source';
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return { forward: false, answer: [], dropped: reason };
  }

  #address(): Buffer | undefined {
    const text = this.#options.assignment()?.address;
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
