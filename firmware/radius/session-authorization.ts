/**
 * What an Access-Accept says about the session it admits (RFC 2865 §5.8, §5.25, §5.27, §5.28,
 * RFC 2869 §5.16): a fixed address, how long the session may last and stay idle, the Class to echo
 * in its accounting, and how often to send Interim-Updates. Pure: the session shells apply it.
 * Values that make no sense (a zero timeout, an address of the wrong size) are ignored, never thrown.
 */
import { allAttrs, Attr, integerOf, ipv4Of, textOf } from './attributes.ts';
import { MsAttr, VENDOR_MICROSOFT } from './microsoft.ts';
import type { RadiusAttribute } from './packet.ts';
import { vendorAttributes } from './vendor-specific.ts';
import { parseFramedRoute } from './framed-route.ts';
import { decodeFramedIpv6Prefix } from './framed-ipv6-prefix.ts';

export interface SessionAuthorization {
  /** The address the server assigned; absent when it left the choice to the NAS (255.255.255.254) or sent none. */
  readonly framedIpAddress?: string;
  /** Framed-Pool (RFC 2869 §5.18): the configured pool to lease from instead of the listener's. */
  readonly framedPool?: string;
  /** MS-Primary/Secondary-DNS-Server (RFC 2548 §2.1.10-11), in that order: sent instead of the pool's DNS. */
  readonly dnsServers?: readonly string[];
  readonly sessionTimeoutSeconds?: number;
  readonly idleTimeoutSeconds?: number;
  /** Every Class attribute, in order, unchanged (RFC 2865 §5.25). */
  readonly class: readonly Uint8Array[];
  /** Acct-Interim-Interval as sent (the floor is applied by `interimSecondsOf`). */
  readonly interimSeconds?: number;
  readonly replyMessage?: string;
  /** The RADIUS server that accepted the session (for the sessions list). */
  readonly server?: string;
  /** Framed-Route (RFC 2865 §5.22): networks behind the user, routed to the session ("10.20.0.0/16"). */
  readonly framedRoutes?: readonly string[];
  /** Framed-Routes left out, each with why (logged). */
  readonly refusedRoutes?: readonly string[];
  /** Framed-IPv6-Prefix (RFC 3162 §2.3): the session's own /64 instead of the pool's (checked when claimed). */
  readonly framedIpv6Prefix?: string;
  /** Why the Framed-IPv6-Prefix sent could not be read, or that more than one came: the session gets no IPv6 then. */
  readonly refusedIpv6Prefix?: string;
}

/** RFC 2869 §5.16: the interval SHOULD NOT be smaller than 60 seconds. */
export const MIN_INTERIM_SECONDS = 60;

/** 255.255.255.255: the user may choose; 255.255.255.254: the NAS chooses (RFC 2865 §5.8). Both are the pool's. */
const NAS_CHOOSES = new Set(['255.255.255.254', '255.255.255.255']);

const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);

export function sessionAuthorizationOf(attributes: readonly RadiusAttribute[], server?: string): SessionAuthorization {
  const framed = ipv4Of(attributes, Attr.FramedIpAddress);
  const sessionTimeout = positive(integerOf(attributes, Attr.SessionTimeout));
  const idleTimeout = positive(integerOf(attributes, Attr.IdleTimeout));
  const interim = positive(integerOf(attributes, Attr.AcctInterimInterval));
  const replyMessage = textOf(attributes, Attr.ReplyMessage);
  const framedPool = textOf(attributes, Attr.FramedPool)?.trim();
  const dnsServers = dnsServersOf(attributes);
  const routes = allAttrs(attributes, Attr.FramedRoute).map((a) => parseFramedRoute(Buffer.from(a.value).toString('utf8')));
  const framedRoutes = [...new Set(routes.flatMap((r) => ('prefix' in r ? [r.prefix] : [])))];
  const refusedRoutes = routes.flatMap((r) => ('refused' in r ? [r.refused] : []));
  const v6 = ipv6PrefixOf(attributes);
  return {
    ...v6,
    ...(framedRoutes.length > 0 ? { framedRoutes } : {}),
    ...(refusedRoutes.length > 0 ? { refusedRoutes } : {}),
    ...(framed !== undefined && !NAS_CHOOSES.has(framed) && framed !== '0.0.0.0' ? { framedIpAddress: framed } : {}),
    ...(framedPool ? { framedPool } : {}),
    ...(dnsServers.length > 0 ? { dnsServers } : {}),
    ...(sessionTimeout !== undefined ? { sessionTimeoutSeconds: sessionTimeout } : {}),
    ...(idleTimeout !== undefined ? { idleTimeoutSeconds: idleTimeout } : {}),
    class: allAttrs(attributes, Attr.Class).map((a) => Uint8Array.from(a.value)),
    ...(interim !== undefined ? { interimSeconds: interim } : {}),
    ...(replyMessage !== undefined ? { replyMessage } : {}),
    ...(server !== undefined ? { server } : {}),
  };
}

/** One Framed-IPv6-Prefix is a session's /64; several (a delegated prefix list) are not what a PPP session takes. */
function ipv6PrefixOf(attributes: readonly RadiusAttribute[]): Pick<SessionAuthorization, 'framedIpv6Prefix' | 'refusedIpv6Prefix'> {
  const sent = allAttrs(attributes, Attr.FramedIpv6Prefix);
  if (sent.length === 0) return {};
  if (sent.length > 1) return { refusedIpv6Prefix: `${sent.length} Framed-IPv6-Prefix attributes (one /64 per session)` };
  const decoded = decodeFramedIpv6Prefix(sent[0]!.value);
  return 'refused' in decoded ? { refusedIpv6Prefix: decoded.refused } : { framedIpv6Prefix: decoded.prefix };
}

/** The Microsoft DNS attributes that hold a usable IPv4 address (4 bytes, not 0.0.0.0), primary first. */
function dnsServersOf(attributes: readonly RadiusAttribute[]): string[] {
  const vsas = vendorAttributes(attributes).attributes.filter((a) => a.vendorId === VENDOR_MICROSOFT);
  return [MsAttr.MsPrimaryDnsServer, MsAttr.MsSecondaryDnsServer].flatMap((type) => {
    const v = vsas.find((a) => a.vendorType === type)?.value;
    return v && v.length === 4 && v.some((b) => b !== 0) ? [Array.from(v).join('.')] : [];
  });
}

/**
 * Seconds between a session's Interim-Updates: the server's Acct-Interim-Interval (not below
 * `minimumSeconds`, RFC 2869 §5.16) over the configured `radius.interimSeconds`; undefined: none.
 */
export function interimSecondsOf(serverSeconds: number | undefined, configuredSeconds: number | undefined, minimumSeconds = MIN_INTERIM_SECONDS): number | undefined {
  const chosen = serverSeconds ?? configuredSeconds;
  if (chosen === undefined || chosen <= 0) return undefined;
  return Math.max(minimumSeconds, chosen);
}
