import { isIPv4 } from 'node:net';
import { ipv4Bytes, ipv6Bytes, ipv6String } from '../../ike/payloads/identity.ts';
import { tsToString, type TrafficSelectorEntry } from '../../ike/payloads/traffic-selector.ts';
import type { Ikev1Payload, ReceivedPayload } from '../message.ts';
import { IdType } from '../registry.ts';
import type { Phase1Sa } from './ikev1-sa.ts';

/**
 * NAT-OA in a transport-mode Quick Mode (RFC 3947 §5.2): with a NAT between the hosts, each side
 * tells the other the addresses it sees, NAT-OAi (the initiator's) then NAT-OAr (the responder's),
 * so the receiver knows which addresses the peer's TCP/UDP checksums were made with (RFC 3948
 * §3.1.2) and can read selectors that name the peer's own (pre-NAT) address. Tunnel mode needs none.
 */

const addressBytes = (address: string): Uint8Array => (isIPv4(address) ? ipv4Bytes(address) : ipv6Bytes(address));
const addressText = (b: Uint8Array): string => (b.length === 4 ? [...b].join('.') : ipv6String(b));

/** Does this Quick Mode carry NAT-OA? Transport mode across a detected NAT only. */
export const wantsNatOa = (sa: Phase1Sa): boolean => sa.connection?.mode === 'transport' && sa.natDetected;

/** NAT-OAi, NAT-OAr as this side sees them: the initiator of the Quick Mode names itself first. */
export function natOaPayloads(sa: Phase1Sa, quickModeInitiator: boolean): Ikev1Payload[] {
  const [i, r] = quickModeInitiator ? [sa.local.address, sa.remote.address] : [sa.remote.address, sa.local.address];
  const draft = sa.nat === 'draft';
  return [i, r].map((address) => ({ kind: 'NAT-OA', draft, natOa: { idType: isIPv4(address) ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, address: addressBytes(address) } }));
}

export interface OriginalAddresses {
  /** Our address as the peer sees it (what it put in its checksums and selectors for us). */
  readonly local: string;
  /** The peer's own address, before its NAT. */
  readonly remote: string;
}

/** The peer's NAT-OAi and NAT-OAr, read as ours and its own; undefined unless both came. */
export function receivedOriginalAddresses(payloads: readonly ReceivedPayload[], quickModeInitiator: boolean): OriginalAddresses | undefined {
  const [i, r] = payloads.flatMap((p) => (p.kind === 'NAT-OA' ? [addressText(p.natOa.address)] : []));
  if (i === undefined || r === undefined) return undefined;
  return quickModeInitiator ? { local: i, remote: r } : { local: r, remote: i };
}

const isHost = (ts: TrafficSelectorEntry) => ts.start.length === ts.end.length && ts.start.every((b, k) => b === ts.end[k]);

/**
 * A transport-mode responder behind or facing a NAT: the initiator's IDci and IDcr name hosts as it
 * sees them (its own private address, our public one). Each must be a single host, and the child
 * goes in between the addresses the packets really carry here, with the protocol and ports asked
 * for (UDP 1701 for L2TP). `why` says what was substituted, for the log.
 */
export function transportSelectorsAcrossNat(sa: Phase1Sa, ci: TrafficSelectorEntry, cr: TrafficSelectorEntry): { ci: TrafficSelectorEntry; cr: TrafficSelectorEntry; why: string } | undefined {
  if (!isHost(ci) || !isHost(cr)) return undefined;
  const at = (ts: TrafficSelectorEntry, address: string): TrafficSelectorEntry => ({ ...ts, start: addressBytes(address), end: addressBytes(address) });
  const out = { ci: at(ci, sa.remote.address), cr: at(cr, sa.local.address) };
  return { ...out, why: `transport mode across a NAT: ${tsToString(ci)} === ${tsToString(cr)} taken as ${tsToString(out.ci)} === ${tsToString(out.cr)}` };
}
