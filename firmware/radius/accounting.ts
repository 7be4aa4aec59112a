/**
 * Accounting records (RFC 2866 §5, RFC 2869 §5.1-5.3) and the NAS identity every request carries,
 * as attribute lists for `RadiusClientEngine`. Octet counters are 64-bit: the low 32 bits go in
 * Acct-Input/Output-Octets and the rest in Acct-Input/Output-Gigawords (RFC 2869 §5.1, §5.2).
 */
import { framedInterfaceIdAttr, framedIpv6PrefixAttr } from './framed-ipv6-prefix.ts';
import { AcctAuthentic, AcctStatusType, AcctTerminateCause, Attr, integerAttr, ipv4Attr, NasPortType, octetsAttr, textAttr } from './attributes.ts';
import type { RadiusAttribute } from './packet.ts';

export interface NasIdentity {
  readonly identifier: string;
  readonly ipAddress?: string;
}

export function nasAttributes(nas: NasIdentity): RadiusAttribute[] {
  const out = [textAttr(Attr.NasIdentifier, nas.identifier)];
  if (nas.ipAddress) out.push(ipv4Attr(Attr.NasIpAddress, nas.ipAddress));
  out.push(integerAttr(Attr.NasPortType, NasPortType.Virtual));
  return out;
}

export type AccountingStatus = keyof typeof AcctStatusType;
export type TerminateCause = keyof typeof AcctTerminateCause;

export interface AccountingRecord {
  readonly status: AccountingStatus;
  readonly nas: NasIdentity;
  /** Required for Start/InterimUpdate/Stop; absent for AccountingOn/Off. */
  readonly sessionId?: string;
  readonly userName?: string;
  readonly framedIpAddress?: string;
  /** The session's own /64 (RFC 3162 §2.3) and its address there, whose low 64 bits are the Framed-Interface-Id (§2.2). */
  readonly framedIpv6Prefix?: string;
  readonly framedIpv6Address?: string;
  readonly callingStationId?: string;
  /** The gateway's address the client dialed (RFC 2865 §5.30). */
  readonly calledStationId?: string;
  /** Class attributes of the Access-Accept, echoed unchanged (RFC 2865 §5.25). */
  readonly class?: readonly Uint8Array[];
  readonly sessionTimeSeconds?: number;
  readonly inputOctets?: bigint;
  readonly outputOctets?: bigint;
  readonly inputPackets?: number;
  readonly outputPackets?: number;
  readonly terminateCause?: TerminateCause;
  /** Seconds since the epoch (RFC 2869 §5.3). */
  readonly eventTimestamp?: number;
}

const low32 = (n: bigint) => Number(n & 0xffffffffn);
const high32 = (n: bigint) => Number((n >> 32n) & 0xffffffffn);

/** The attributes of one Accounting-Request, Acct-Delay-Time left to the engine. */
export function accountingAttributes(r: AccountingRecord): RadiusAttribute[] {
  const session = r.status !== 'AccountingOn' && r.status !== 'AccountingOff';
  if (session && !r.sessionId) throw new RangeError(`Accounting ${r.status} needs an Acct-Session-Id`);
  const out: RadiusAttribute[] = [integerAttr(Attr.AcctStatusType, AcctStatusType[r.status]), ...nasAttributes(r.nas)];
  if (r.sessionId) out.push(textAttr(Attr.AcctSessionId, r.sessionId));
  if (r.userName !== undefined) out.push(textAttr(Attr.UserName, r.userName));
  if (session) out.push(integerAttr(Attr.AcctAuthentic, AcctAuthentic.Radius));
  if (r.framedIpAddress) out.push(ipv4Attr(Attr.FramedIpAddress, r.framedIpAddress));
  if (r.framedIpv6Prefix) out.push(framedIpv6PrefixAttr(r.framedIpv6Prefix));
  if (r.framedIpv6Address) out.push(framedInterfaceIdAttr(r.framedIpv6Address));
  if (r.callingStationId) out.push(textAttr(Attr.CallingStationId, r.callingStationId));
  if (r.calledStationId) out.push(textAttr(Attr.CalledStationId, r.calledStationId));
  for (const c of r.class ?? []) out.push(octetsAttr(Attr.Class, c));
  if (r.sessionTimeSeconds !== undefined) out.push(integerAttr(Attr.AcctSessionTime, r.sessionTimeSeconds));
  if (r.inputOctets !== undefined) out.push(integerAttr(Attr.AcctInputOctets, low32(r.inputOctets)), integerAttr(Attr.AcctInputGigawords, high32(r.inputOctets)));
  if (r.outputOctets !== undefined) out.push(integerAttr(Attr.AcctOutputOctets, low32(r.outputOctets)), integerAttr(Attr.AcctOutputGigawords, high32(r.outputOctets)));
  if (r.inputPackets !== undefined) out.push(integerAttr(Attr.AcctInputPackets, r.inputPackets >>> 0));
  if (r.outputPackets !== undefined) out.push(integerAttr(Attr.AcctOutputPackets, r.outputPackets >>> 0));
  if (r.terminateCause) out.push(integerAttr(Attr.AcctTerminateCause, AcctTerminateCause[r.terminateCause]));
  if (r.eventTimestamp !== undefined) out.push(integerAttr(Attr.EventTimestamp, r.eventTimestamp));
  return out;
}
