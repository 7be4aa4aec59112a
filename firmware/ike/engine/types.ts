import type { KeyObject } from 'node:crypto';
import type { SessionAuthorization } from '../../radius/session-authorization.ts';
import type { Secret } from '../../util/secret.ts';
import type { DhExchange } from '../crypto/dh.ts';
import type { ProposalSpec } from '../proposals.ts';
import type { EspSuite } from '../../dataplane/types.ts';

/** An address and UDP port, as the shell sees them. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * One configured peer (a site) or a class of peers (remote access), as the engine needs it.
 * Built from the configuration document by the shell; the engine never reads files.
 */
export interface IkeConnection {
  readonly name: string;
  /** Our ID ("vpn.example.com", "192.0.2.1"); the local address when absent. */
  readonly localId?: string;
  /** The peer's expected ID; its address when absent. */
  readonly remoteId?: string;
  /**
   * Any ID the peer sends is taken (IKEv1 remote access: the group PSK or the certificate proves who
   * it is, and a Windows client behind NAT names itself by its private address).
   */
  readonly anyRemoteId?: boolean;
  readonly psk: Secret<string>;
  /** Where to initiate to (site-to-site); a responder-only connection has none. */
  readonly remoteAddress?: string;
  readonly ikeProposals: readonly ProposalSpec[];
  readonly espProposals: readonly ProposalSpec[];
  /** Our side's and the peer's subnets ("10.1.0.0/16"). */
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  readonly mode: 'tunnel' | 'transport';
  /**
   * Transport mode (GRE over IPsec): the selectors' addresses are the ones the IKE SA runs between,
   * with the configured selectors' protocol and ports; a peer matched by its ID at another address
   * (its NAT's, a new one) keeps its selectors right. As strongSwan's %dynamic.
   */
  readonly selectorsFollowSa?: boolean;
  /** Transport mode: what the hosts' selectors carry (L2TP: UDP, port 1701 both ends); any traffic when absent. */
  readonly transportSelector?: { readonly protocol: number; readonly port: number };
  /** Liveness check after this long without hearing from the peer (RFC 7296 §2.4). */
  readonly dpdSeconds: number;
  /** IKEv1 (RFC 3706): dead when R-U-THERE goes unanswered this long; absent: after the retransmission tries. */
  readonly dpdTimeoutSeconds?: number;
  /** Rekey child SAs and the IKE SA this long after they were made (0 or absent: never; §2.8). */
  readonly rekeySeconds?: number;
  readonly ikeRekeySeconds?: number;
  /** How the peer proves who it is: the shared key (default), a certificate from `trustedCas`, or
   * (for a responder) EAP-MSCHAPv2 against the local users (§2.16). */
  readonly peerAuth?: 'psk' | 'certificate' | 'eap-mschapv2';
  /** How we prove who we are: the shared key (default) or `certificate`. */
  readonly localAuth?: 'psk' | 'certificate';
  /** Our certificate (DER), its private key, and intermediate CA certificates sent along, for localAuth 'certificate'. */
  readonly certificate?: { readonly der: Uint8Array; readonly key: Secret<KeyObject>; readonly chain?: readonly Uint8Array[] };
  /** Our RSA key signs with RSASSA-PSS (RFC 7427) where the peer accepts RFC 7427 signatures. */
  readonly rsaPss?: boolean;
  /** CA certificates (DER) a peer's certificate must be issued by, for peerAuth 'certificate'. */
  readonly trustedCas?: readonly Uint8Array[];
  /** Initiator: prove who we are with EAP-MSCHAPv2 instead of the shared key. */
  readonly eap?: { readonly identity: string; readonly password: Secret<string> };
  /** Responder: give each peer a virtual address from this pool (configuration payload, §2.19). */
  readonly pool?: string;
  /** Initiator: ask the responder for a virtual address and DNS servers. */
  readonly requestVirtualIp?: boolean;
  /** IKE fragmentation (RFC 7383), on unless false. */
  readonly fragmentation?: boolean;
  /** MOBIKE (RFC 4555), on unless false. */
  readonly mobike?: boolean;
  /**
   * This gateway's addresses (issue 24: one per family on a dual-stack WAN); those other than the one
   * an SA runs on are announced to MOBIKE peers (ADDITIONAL_IP4/IP6_ADDRESS, RFC 4555 §3.6), so a client
   * can move between IPv4 and IPv6.
   */
  readonly localAddresses?: readonly string[];
  /**
   * Initiator of CREATE_CHILD_SA: PFS. 'auto' (default) offers the IKE SA's group with NONE beside it,
   * so the responder decides, and offers no DH again if the peer refuses that; 'on' requires PFS;
   * 'off' offers none. ESP proposals that name groups always mean 'on' with those groups.
   */
  readonly pfs?: 'auto' | 'on' | 'off';
  /** Responder: DH groups accepted for PFS in CREATE_CHILD_SA; default: the IKE proposals' groups. */
  readonly pfsGroups?: readonly number[];
  /**
   * A new IKE SA of the same peer identity on this connection: 'replace' (default) deletes the older
   * ones with their children; 'never' keeps them (several devices under one identity).
   */
  readonly unique?: 'replace' | 'never';
  /**
   * IKEv1 only: phase 1 in Aggressive Mode with the pre-shared key (initiator), or accepted from
   * this peer's ID (responder). Off by default and flagged: its PSK hash can be cracked offline.
   */
  readonly aggressive?: boolean;
  /** Responder: subnets announced as INTERNAL_IP4_SUBNET (split tunnelling); empty: everything. */
  readonly splitSubnets?: readonly string[];
}

/** Virtual addresses for remote-access peers, one per identity (the pools of the configuration). */
export interface VirtualAddressProvider {
  /** `fixedIpv4`: the address RADIUS assigned (Framed-IP-Address), pinned to the identity when free. */
  lease(pool: string, identity: string, fixedIpv4?: string): VirtualAddress | undefined;
  release(pool: string, identity: string): void;
  /** Whether the pool is configured and, given an address, hands that address out (RADIUS Framed-Pool, Framed-IP-Address). */
  holds?(pool: string, ipv4?: string): boolean;
}

export interface VirtualAddress {
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly dns: readonly string[];
}

/** Randomness and key pairs come in from outside so tests can fix them (STYLE.md rule 1). */
export interface IkeCryptoProvider {
  randomBytes(length: number): Uint8Array;
  createDh(group: number): DhExchange | undefined;
}

/** One direction of a child SA, as the data plane installs it. */
export interface ChildSaHalf {
  readonly spi: number;
  readonly source: string;
  readonly destination: string;
  readonly encryption: Secret<Buffer>;
  readonly integrity?: Secret<Buffer>;
}

export interface ChildSaInfo {
  readonly ikeSpi: bigint;
  readonly connection: string;
  readonly suite: EspSuite;
  readonly esn: boolean;
  readonly mode: 'tunnel' | 'transport';
  readonly inbound: ChildSaHalf;
  readonly outbound: ChildSaHalf;
  /** Selectors after narrowing: ours and the peer's, as prefixes or ranges. */
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  /** ESP in UDP (RFC 3948) when a NAT was detected: our port and the peer's. */
  readonly encapsulation?: { readonly localPort: number; readonly remotePort: number };
  /**
   * Transport mode across a NAT, from the peer's NAT-OA (RFC 3947 §5.2): our address as the peer
   * sees it and the peer's own, the ones its TCP/UDP checksums were made with (RFC 3948 §3.1.2).
   */
  readonly originalAddresses?: { readonly local: string; readonly remote: string };
}

export type IkeAction =
  | { readonly type: 'send'; readonly packet: Uint8Array; readonly from: Endpoint; readonly to: Endpoint }
  | { readonly type: 'install-child'; readonly child: ChildSaInfo }
  | { readonly type: 'delete-child'; readonly child: ChildSaInfo }
  /**
   * A new child replacing `old` (§2.8): its inbound SA at once beside the old one. Its outbound SA
   * now if we started the rekey (`initiated`); otherwise when the old child's delete arrives, since
   * until then the peer may not have the new SA yet. `confirmed`: the same rekey announced before
   * with `initiated: false` is now known to the peer (IKEv1 QM3), so the outbound SA switches now.
   */
  | { readonly type: 'rekey-child'; readonly old: ChildSaInfo; readonly child: ChildSaInfo; readonly initiated: boolean; readonly confirmed?: boolean }
  /** The peer (or we) moved (MOBIKE, RFC 4555): the child's SAs now run between these addresses. */
  | { readonly type: 'move-child'; readonly child: ChildSaInfo }
  /** The IKE SA was replaced by a new one (§2.18); its children moved along, nothing went down. */
  | { readonly type: 'ike-rekeyed'; readonly oldSpi: bigint; readonly spi: bigint; readonly connection: string }
  /** `authorization`: what the RADIUS Access-Accept said (EAP through RADIUS): Class and Acct-Interim-Interval for accounting. */
  | { readonly type: 'ike-up'; readonly spi: bigint; readonly connection: string; readonly remoteId: string; readonly remote: Endpoint; readonly virtualIp?: VirtualAddress; readonly authorization?: SessionAuthorization }
  | { readonly type: 'ike-down'; readonly spi: bigint; readonly connection: string; readonly reason: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly fields?: Record<string, unknown> };
