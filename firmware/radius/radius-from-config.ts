/**
 * The RADIUS client's settings from the configuration (issue 21): the servers in the order listed,
 * secrets wrapped so they print as <redacted>, and the NAS attributes NPS and FreeRADIUS policies
 * match on (NAS-Identifier, NAS-Port-Type Virtual, Service-Type Framed, Framed-Protocol PPP,
 * Tunnel-Type and Tunnel-Medium-Type IPv4; RFC 2865 §5, RFC 2868 §3.1-3.2).
 */
import type { PosternConfig } from '../config/types.ts';
import { Secret } from '../util/secret.ts';
import { nasAttributes, type NasIdentity } from './accounting.ts';
import { Attr, FramedProtocol, integerAttr, ServiceType, TunnelMediumType, TunnelType } from './attributes.ts';
import type { RadiusAttribute } from './packet.ts';
import type { RadsecTls } from './radsec-link.ts';
import type { RadiusServer } from './server-state.ts';

/** RFC 6614 §2.3: over TLS the shared secret is the fixed string "radsec". */
export const RADSEC_SECRET = 'radsec';
export const RADSEC_PORT = 2083;

export function radiusServersOf(config: PosternConfig): RadiusServer[] {
  return (config.radius?.servers ?? []).map((s) => {
    const timers = { ...(s.timeoutSeconds !== undefined ? { initialTimeoutMs: s.timeoutSeconds * 1000 } : {}), ...(s.retries !== undefined ? { maxRetransmits: s.retries } : {}) };
    if (s.radsec) {
      const port = s.radsec.port ?? RADSEC_PORT;
      return { name: s.name, address: s.address, authPort: port, acctPort: port, secret: new Secret<Uint8Array>(Buffer.from(RADSEC_SECRET)), transport: 'tls' as const, ...timers };
    }
    return { name: s.name, address: s.address, authPort: s.authPort, acctPort: s.acctPort, secret: new Secret<Uint8Array>(Buffer.from(s.secret ?? '', 'utf8')), ...timers };
  });
}

/**
 * The RadSec servers' TLS settings by name: the configured CA and name, and the imported client
 * certificate, else `ownCertificate` (one from Postern's CA; none when it cannot be had).
 */
export function radsecTlsOf(config: PosternConfig, ownCertificate: () => { certificate: string; key: Secret<string> } | undefined): Record<string, RadsecTls> {
  const out: Record<string, RadsecTls> = {};
  for (const s of config.radius?.servers ?? []) {
    if (!s.radsec) continue;
    const own = s.radsec.clientCertificate && s.radsec.clientKey ? { certificate: s.radsec.clientCertificate, key: new Secret(s.radsec.clientKey) } : ownCertificate();
    out[s.name] = { ca: s.radsec.ca, ...(s.radsec.serverName ? { serverName: s.radsec.serverName } : {}), ...(own ? { certificate: own.certificate, key: own.key } : {}) };
  }
  return out;
}

/** RFC 2868 §3.1: Tunnel-Type and Tunnel-Medium-Type carry a tag octet (0: untagged) before a 24-bit value. */
const tagged = (type: number, value: number): RadiusAttribute => {
  const a = integerAttr(type, value);
  return { type, value: Uint8Array.of(0, ...a.value.subarray(1)) };
};

/** Who the gateway is to its RADIUS servers: NAS-Identifier (the hostname when not set), NAS-IP-Address when set. */
export function nasIdentityOf(config: PosternConfig): NasIdentity {
  const ipAddress = config.radius?.nasIpAddress;
  return { identifier: config.radius?.nasIdentifier ?? config.system.hostname, ...(ipAddress ? { ipAddress } : {}) };
}

export function radiusNasAttributes(config: PosternConfig, protocol: 'sstp' | 'l2tp' | 'pptp' | 'ikev2'): RadiusAttribute[] {
  const tunnel = { sstp: TunnelType.Sstp, l2tp: TunnelType.L2tp, pptp: TunnelType.Pptp, ikev2: TunnelType.Esp }[protocol];
  return [
    ...nasAttributes(nasIdentityOf(config)),
    integerAttr(Attr.ServiceType, ServiceType.Framed),
    ...(protocol === 'ikev2' ? [] : [integerAttr(Attr.FramedProtocol, FramedProtocol.Ppp)]),
    tagged(Attr.TunnelType, tunnel),
    tagged(Attr.TunnelMediumType, TunnelMediumType.Ipv4),
  ];
}
