/**
 * RADIUS attribute numbers and values (IANA "RADIUS Attribute Types"; RFC 2865 §5, 2866 §5, 2868,
 * 2869, 3162, 3579, 5176) with readers and writers for the RFC 2865 §5 data types: text (UTF-8),
 * string (octets), address (IPv4), integer (32-bit unsigned). Readers never throw: a value of the
 * wrong size reads as undefined.
 */
import type { RadiusAttribute } from './packet.ts';

export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ServiceType: 6,
  FramedProtocol: 7,
  FramedIpAddress: 8,
  FramedIpNetmask: 9,
  FilterId: 11,
  FramedMtu: 12,
  ReplyMessage: 18,
  FramedRoute: 22,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  SessionTimeout: 27,
  IdleTimeout: 28,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctDelayTime: 41,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctAuthentic: 45,
  AcctSessionTime: 46,
  AcctInputPackets: 47,
  AcctOutputPackets: 48,
  AcctTerminateCause: 49,
  AcctMultiSessionId: 50,
  AcctInputGigawords: 52,
  AcctOutputGigawords: 53,
  EventTimestamp: 55,
  ChapChallenge: 60,
  NasPortType: 61,
  TunnelType: 64,
  TunnelMediumType: 65,
  ConnectInfo: 77,
  EapMessage: 79,
  MessageAuthenticator: 80,
  AcctInterimInterval: 85,
  NasPortId: 87,
  FramedPool: 88,
  NasIpv6Address: 95,
  FramedInterfaceId: 96,
  FramedIpv6Prefix: 97,
  ErrorCause: 101,
  /** RFC 6911 §3.1. */
  FramedIpv6Address: 168,
} as const;

export const ServiceType = { Login: 1, Framed: 2 } as const;
export const FramedProtocol = { Ppp: 1 } as const;
/** RFC 2865 §5.41; Virtual (5) is what NPS policies expect of a VPN server. */
export const NasPortType = { Async: 0, Virtual: 5 } as const;
/**
 * RFC 2868 §3.1 and IANA's registry. SSTP has no IANA value; 25 is taken to be what Microsoft's
 * RRAS/NPS use for it, not yet checked against an NPS (FreeRADIUS accepts any value).
 */
export const TunnelType = { Pptp: 1, L2tp: 3, Esp: 9, Sstp: 25 } as const;
export const TunnelMediumType = { Ipv4: 1, Ipv6: 2 } as const;
/** RFC 2866 §5.1, 2866 §5.1 + 2869 (Accounting-On/Off). */
export const AcctStatusType = { Start: 1, Stop: 2, InterimUpdate: 3, AccountingOn: 7, AccountingOff: 8 } as const;
export const AcctAuthentic = { Radius: 1, Local: 2 } as const;
/** RFC 2866 §5.10. */
export const AcctTerminateCause = {
  UserRequest: 1,
  LostCarrier: 2,
  LostService: 3,
  IdleTimeout: 4,
  SessionTimeout: 5,
  AdminReset: 6,
  AdminReboot: 7,
  PortError: 8,
  NasError: 9,
  NasRequest: 10,
  NasReboot: 11,
} as const;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export const textAttr = (type: number, text: string): RadiusAttribute => ({ type, value: utf8.encode(text) });
export const octetsAttr = (type: number, value: Uint8Array): RadiusAttribute => ({ type, value });
export function integerAttr(type: number, value: number): RadiusAttribute {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`attribute ${type}: ${value} is not a 32-bit unsigned integer`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return { type, value: out };
}
export function ipv4Attr(type: number, address: string): RadiusAttribute {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`attribute ${type}: ${address} is not an IPv4 address`);
  return { type, value: Uint8Array.from(parts) };
}

export const findAttr = (attributes: readonly RadiusAttribute[], type: number): RadiusAttribute | undefined => attributes.find((a) => a.type === type);
export const allAttrs = (attributes: readonly RadiusAttribute[], type: number): RadiusAttribute[] => attributes.filter((a) => a.type === type);

export function readText(value: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(value);
  } catch {
    return undefined;
  }
}
export function readInteger(value: Uint8Array): number | undefined {
  return value.length === 4 ? new DataView(value.buffer, value.byteOffset, 4).getUint32(0) : undefined;
}
export function readIpv4(value: Uint8Array): string | undefined {
  return value.length === 4 ? Array.from(value).join('.') : undefined;
}

export const textOf = (attributes: readonly RadiusAttribute[], type: number): string | undefined => {
  const a = findAttr(attributes, type);
  return a ? readText(a.value) : undefined;
};
export const integerOf = (attributes: readonly RadiusAttribute[], type: number): number | undefined => {
  const a = findAttr(attributes, type);
  return a ? readInteger(a.value) : undefined;
};
export const ipv4Of = (attributes: readonly RadiusAttribute[], type: number): string | undefined => {
  const a = findAttr(attributes, type);
  return a ? readIpv4(a.value) : undefined;
};
