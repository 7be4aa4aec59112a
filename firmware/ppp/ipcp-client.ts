/*
 * IPCP on the client side of a link (Postern dialling another gateway, and its load generator):
 * it asks for IP-Address 0.0.0.0 and, optionally, both DNS servers 0.0.0.0, and takes what the
 * server suggests in its Configure-Nak (RFC 1332 §3.3, RFC 1877 §1). The server's own address is
 * acknowledged as offered; anything else the server asks of us is rejected.
 */
import type { PppOption } from './control-packet.ts';
import { PppProtocol } from './frame.ts';
import { ACK, checkEachOption, REJECT, type FsmProtocol, type RequestVerdict } from './fsm-protocol.ts';
import { IpcpOption, type IpcpNegotiated } from './ipcp.ts';

const ZERO = new Uint8Array(4);
const dotted = (bytes: Uint8Array): string => [...bytes].join('.');

export interface IpcpClientConfig {
  /** Ask for DNS servers too (a server without them rejects the options, and we stop asking). */
  readonly askDns: boolean;
}

export class IpcpClientHandler implements FsmProtocol {
  readonly name = 'IPCP';
  readonly protocol = PppProtocol.IPCP;
  readonly kind = 'ncp';
  /** What we ask for next, by option type; a Nak fills in values, a Reject removes entries. */
  #wanted = new Map<number, Uint8Array>();
  readonly #config: IpcpClientConfig;
  readonly #negotiated: IpcpNegotiated = { localAddress: undefined, peerAddress: undefined, dns1: undefined, dns2: undefined };

  constructor(config: IpcpClientConfig) {
    this.#config = config;
    this.resetRequest();
  }

  /** On the client side "local" is our assigned address and "peer" the server's. */
  get negotiated(): Readonly<IpcpNegotiated> {
    return this.#negotiated;
  }

  resetRequest(): void {
    this.#wanted = new Map([[IpcpOption.IpAddress, ZERO]]);
    if (this.#config.askDns) {
      this.#wanted.set(IpcpOption.PrimaryDnsServerAddress, ZERO);
      this.#wanted.set(IpcpOption.SecondaryDnsServerAddress, ZERO);
    }
  }

  buildRequestOptions(): PppOption[] {
    return [...this.#wanted].map(([type, data]) => ({ type, data }));
  }

  /** The server tells us its address (any non-zero one is fine); nothing else is acceptable. */
  checkRequest(options: readonly PppOption[]): RequestVerdict {
    return checkEachOption(options, (o) => (o.type === IpcpOption.IpAddress && o.data.length === 4 ? ACK : REJECT));
  }

  onPeerAcked(options: readonly PppOption[]): void {
    const address = options.find((o) => o.type === IpcpOption.IpAddress);
    this.#negotiated.peerAddress = address ? dotted(address.data) : undefined;
  }

  onAck(options: readonly PppOption[]): void {
    const n = this.#negotiated;
    n.localAddress = n.dns1 = n.dns2 = undefined;
    for (const o of options) {
      if (o.type === IpcpOption.IpAddress) n.localAddress = dotted(o.data);
      else if (o.type === IpcpOption.PrimaryDnsServerAddress) n.dns1 = dotted(o.data);
      else if (o.type === IpcpOption.SecondaryDnsServerAddress) n.dns2 = dotted(o.data);
    }
  }

  /** §3.3: the Nak carries the address (and DNS) the server assigns; options it adds unasked are ignored. */
  onNak(options: readonly PppOption[]): string | void {
    for (const o of options) if (this.#wanted.has(o.type) && o.data.length === 4) this.#wanted.set(o.type, o.data);
  }

  /** A server refusing to assign us an address leaves us nothing to run IP over. */
  onReject(options: readonly PppOption[]): string | void {
    for (const o of options) {
      if (o.type === IpcpOption.IpAddress) return 'the server will not assign an IPv4 address';
      this.#wanted.delete(o.type);
    }
  }
}
