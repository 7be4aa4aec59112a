import { isIPv4, isIPv6 } from 'node:net';
import { ipv4Bytes, ipv6Bytes, ipv6String } from '../payloads/identity.ts';
import { tsFromPrefix, tsToString, TsType, type TrafficSelectorEntry } from '../payloads/traffic-selector.ts';

/**
 * Transport mode across a NAT (RFC 7296 §2.23.1). A transport-mode selector names a host's own
 * address, and a host behind a NAT never has the address the other side sees (IP1 against IPN1).
 * Both sides therefore replace, before anything else reads the selectors (narrowing, the check of the
 * answer, the SAs and policies), the address of a NATed host's selectors with the address the IKE SA
 * runs between as this side sees it: the peer's with the IKE SA's remote address when the peer is
 * behind a NAT, ours with its local address when we are. The peer's claimed address is never trusted
 * for the SA: only observed addresses go in, so a peer cannot name a third party's address. Protocol
 * and ports are what is negotiated and stay. The originals are kept: the addresses the peer's TCP and
 * UDP checksums were made with (RFC 3948 §3.1.2), and, in the responder's answer, our address as the
 * peer sees it.
 */

/** What the NAT detection (RFC 7296 §2.23) of the IKE SA found, and the addresses the SA runs between. */
export interface NatView {
  readonly initiator: boolean;
  readonly natLocal: boolean;
  readonly natRemote: boolean;
  readonly local: { readonly address: string };
  readonly remote: { readonly address: string };
}

export interface SubstitutedSelectors {
  readonly tsi: TrafficSelectorEntry[];
  readonly tsr: TrafficSelectorEntry[];
  /** The first address of each list as it arrived (a transport selector is one host), when substituted. */
  readonly original?: { readonly tsi: string; readonly tsr: string };
}

function addressBytes(address: string, type: number): Uint8Array | undefined {
  if (type === TsType.TS_IPV4_ADDR_RANGE && isIPv4(address)) return ipv4Bytes(address);
  if (type === TsType.TS_IPV6_ADDR_RANGE && isIPv6(address)) return ipv6Bytes(address);
  return undefined; // another family: left as it is
}

/** Every selector pinned to one host address, protocol and ports kept. */
function pin(list: readonly TrafficSelectorEntry[], address: string): TrafficSelectorEntry[] {
  return list.map((ts) => {
    const bytes = addressBytes(address, ts.type);
    return bytes ? { ...ts, start: bytes, end: bytes.slice() } : ts;
  });
}

/** The first selector's start address, as text ('' when the list is empty). */
function firstAddress(list: readonly TrafficSelectorEntry[]): string {
  const start = list[0]?.start;
  if (!start) return '';
  return start.length === 4 ? [...start].join('.') : ipv6String(start);
}

/**
 * TSi and TSr of a transport-mode request (responder) or answer (initiator) with §2.23.1's
 * substitution applied; unchanged (no `original`) when no NAT was detected.
 */
export function substituteTransportSelectors(sa: NatView, tsi: readonly TrafficSelectorEntry[], tsr: readonly TrafficSelectorEntry[]): SubstitutedSelectors {
  if (!sa.natLocal && !sa.natRemote) return { tsi: [...tsi], tsr: [...tsr] };
  // TSi is the initiator's side, TSr the responder's.
  const [ours, theirs] = sa.initiator ? [tsi, tsr] : [tsr, tsi];
  const ourNew = sa.natLocal ? pin(ours, sa.local.address) : [...ours];
  const theirNew = sa.natRemote ? pin(theirs, sa.remote.address) : [...theirs];
  return {
    tsi: sa.initiator ? ourNew : theirNew,
    tsr: sa.initiator ? theirNew : ourNew,
    original: { tsi: firstAddress(tsi), tsr: firstAddress(tsr) },
  };
}

/**
 * The child's original addresses (ChildSaInfo.originalAddresses) from the selectors as they came:
 * our address as the peer named it, and the peer's own. The responder reads the request (TSr names
 * us as the initiator sees us, TSi the initiator itself); the initiator reads the answer, whose TSi
 * is us as the responder saw us (it substitutes) and TSr the responder itself.
 */
export function originalAddressesOf(sa: NatView, original: { readonly tsi: string; readonly tsr: string }): { local: string; remote: string } {
  return sa.initiator ? { local: original.tsi, remote: original.tsr } : { local: original.tsr, remote: original.tsi };
}

/** A configured selector ("192.0.2.1/32[47]") moved onto one host, protocol and ports kept (selectorsFollowSa). */
export function onHost(selector: string, address: string): string {
  const ts = tsFromPrefix(selector);
  const pinned = pin([ts], address)[0]!;
  return pinned === ts ? selector : tsToString(pinned);
}
