/*
 * IPCP Configuration Options (RFC 1332 §3, RFC 1877 §1), as a gateway giving its peer an address:
 *
 *  | Type | Length | Data                                 |
 *  |  2   |  ≥ 4   | IP-Compression-Protocol (16) | ...   |  RFC 1332 §3.2: rejected (no VJ)
 *  |  3   |   6    | IP-Address (32)                      |  RFC 1332 §3.3
 *  | 129  |   6    | Primary-DNS-Server-Address (32)      |  RFC 1877 §1.1
 *  | 130  |   6    | Primary-NBNS-Server-Address (32)     |  RFC 1877 §1.2: rejected
 *  | 131  |   6    | Secondary-DNS-Server-Address (32)    |  RFC 1877 §1.3
 *  | 132  |   6    | Secondary-NBNS-Server-Address (32)   |  RFC 1877 §1.4: rejected
 *
 * IPCP uses the LCP automaton and codes 1 to 7 only (RFC 1332 §2).
 */
import { parseIp } from '../util/ip.ts';
import { sameBytes, type PppOption } from './control-packet.ts';
import { PppProtocol } from './frame.ts';
import { ACK, checkEachOption, nak, REJECT, type FsmProtocol, type OptionVerdict, type RequestVerdict } from './fsm-protocol.ts';

export const IpcpOption = {
  IpAddresses: 1,
  IpCompressionProtocol: 2,
  IpAddress: 3,
  PrimaryDnsServerAddress: 129,
  PrimaryNbnsServerAddress: 130,
  SecondaryDnsServerAddress: 131,
  SecondaryNbnsServerAddress: 132,
} as const;

/** What the allocator hands out for one peer (dotted quads). */
export interface IpcpAssignment {
  readonly ip: string;
  readonly dns1?: string;
  readonly dns2?: string;
}

export interface IpcpConfig {
  /** Our end of the link, sent in our own request (option 3). */
  readonly localAddress: string;
  /**
   * Called once, at the peer's first Configure-Request; undefined when no address is left (IPCP then
   * closes). The session that owns the lease releases it; the handler never does.
   */
  readonly allocate: () => IpcpAssignment | undefined;
}

/** What IPCP agreed on; read when IPCP is up. */
export interface IpcpNegotiated {
  localAddress: string | undefined;
  peerAddress: string | undefined;
  dns1: string | undefined;
  dns2: string | undefined;
}

interface Assigned {
  readonly ip: Uint8Array;
  readonly dns1: Uint8Array | undefined;
  readonly dns2: Uint8Array | undefined;
}

function ipv4(text: string | undefined): Uint8Array | undefined {
  const parsed = text === undefined ? undefined : parseIp(text);
  return parsed?.family === 4 ? Uint8Array.from(parsed.bytes) : undefined;
}

/**
 * The gateway's own and the DNS addresses are the same for every session: parsed once and shared
 * (never written to), not held as a small Uint8Array (about 220 bytes of V8 heap) per call (issue 23).
 * Bounded: a handful of distinct addresses in practice; emptied if configurations ever pile up.
 */
const sharedAddresses = new Map<string, Uint8Array | undefined>();
function sharedIpv4(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  if (sharedAddresses.has(text)) return sharedAddresses.get(text);
  if (sharedAddresses.size >= 64) sharedAddresses.clear();
  const bytes = ipv4(text);
  sharedAddresses.set(text, bytes);
  return bytes;
}

const dotted = (bytes: Uint8Array): string => [...bytes].join('.');

export class IpcpHandler implements FsmProtocol {
  readonly name = 'IPCP';
  readonly protocol = PppProtocol.IPCP;
  readonly kind = 'ncp';
  readonly #local: Uint8Array;
  readonly #allocate: IpcpConfig['allocate'];
  #assigned: Assigned | 'none' | undefined;
  #sendAddress = true;
  readonly #negotiated: IpcpNegotiated = { localAddress: undefined, peerAddress: undefined, dns1: undefined, dns2: undefined };

  constructor(config: IpcpConfig) {
    const local = sharedIpv4(config.localAddress);
    if (!local) throw new Error(`IPCP local address '${config.localAddress}' is not IPv4`);
    this.#local = local;
    this.#allocate = config.allocate;
  }

  get negotiated(): Readonly<IpcpNegotiated> {
    return this.#negotiated;
  }

  resetRequest(): void {
    this.#sendAddress = true;
  }

  buildRequestOptions(): PppOption[] {
    return this.#sendAddress ? [{ type: IpcpOption.IpAddress, data: this.#local }] : [];
  }

  /**
   * RFC 1332 §3.3: a peer asking for 0.0.0.0, or for an address other than its own, is Nak'd with the
   * assigned one; a peer that does not ask at all is sent it unsolicited in a Nak (§5.3).
   */
  checkRequest(options: readonly PppOption[]): RequestVerdict {
    const a = this.#assignment();
    if (!a) return { kind: 'fail', reason: 'no address to assign to the peer' };
    const asked = options.some((o) => o.type === IpcpOption.IpAddress);
    const unsolicited = asked ? [] : [{ type: IpcpOption.IpAddress, data: a.ip }];
    return checkEachOption(options, (o) => this.#checkOption(o, a), unsolicited);
  }

  #checkOption(option: PppOption, a: Assigned): OptionVerdict {
    switch (option.type) {
      case IpcpOption.IpAddress:
        return expect(option, a.ip);
      case IpcpOption.PrimaryDnsServerAddress:
        return expect(option, a.dns1);
      case IpcpOption.SecondaryDnsServerAddress:
        return expect(option, a.dns2);
      default:
        // IP-Compression-Protocol (no Van Jacobson here), IP-Addresses (obsolete), NBNS, unknown.
        return REJECT;
    }
  }

  #assignment(): Assigned | undefined {
    if (this.#assigned === undefined) {
      const got = this.#allocate();
      const ip = ipv4(got?.ip);
      this.#assigned = got && ip ? { ip, dns1: sharedIpv4(got.dns1), dns2: sharedIpv4(got.dns2) } : 'none';
    }
    return this.#assigned === 'none' ? undefined : this.#assigned;
  }

  onPeerAcked(options: readonly PppOption[]): void {
    const n = this.#negotiated;
    n.peerAddress = n.dns1 = n.dns2 = undefined;
    for (const o of options) {
      if (o.type === IpcpOption.IpAddress) n.peerAddress = dotted(o.data);
      else if (o.type === IpcpOption.PrimaryDnsServerAddress) n.dns1 = dotted(o.data);
      else if (o.type === IpcpOption.SecondaryDnsServerAddress) n.dns2 = dotted(o.data);
    }
  }

  onAck(options: readonly PppOption[]): void {
    const address = options.find((o) => o.type === IpcpOption.IpAddress);
    this.#negotiated.localAddress = address ? dotted(address.data) : undefined;
  }

  /** Our address is configuration, not negotiable: a Nak changes nothing and we ask again. */
  onNak(): void {}

  /** RFC 1332 §3.3: a peer may refuse to learn our address; we then send none. */
  onReject(options: readonly PppOption[]): void {
    if (options.some((o) => o.type === IpcpOption.IpAddress)) this.#sendAddress = false;
  }
}

/** Ack the value we hold, Nak anything else with it, reject what we have nothing for. */
function expect(option: PppOption, ours: Uint8Array | undefined): OptionVerdict {
  if (!ours || option.data.length !== 4) return REJECT;
  return sameBytes(option.data, ours) ? ACK : nak({ type: option.type, data: ours });
}
