/**
 * The gateway's public identity (issue 17): the name and/or address clients dial from outside. Every
 * client profile dials it; the gateway certificate carries it as its first names and the CRL and CA
 * URLs (certificates.publication.host) name it, and the certificate is issued again when it changes
 * (pki-store.ts issues again when a configured name is missing).
 */
import { parseIp } from '../util/ip.ts';
import { FORMAT_CHECKS } from './formats.ts';
import type { ConfigIssue, PosternConfig } from './types.ts';

/** What clients dial: the public name, else the public address, else the certificate's first name. */
export function dialledName(config: PosternConfig): string {
  const { publicName, publicAddress } = config.system;
  return publicName || publicAddress || config.certificates.server.sans[0] || config.certificates.server.commonName;
}

export interface PublicIdentity {
  readonly publicName?: string | undefined;
  readonly publicAddress?: string | undefined;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** The default common name (schema.ts): replaced by the public name, unlike one the technician chose. */
const DEFAULT_COMMON_NAME = 'postern';
const MAX_COMMON_NAME = 64;

/**
 * The document with a new public identity: the old public name and address taken out of the
 * certificate's names, the new ones put first; an empty value removes it. The common name follows
 * the public name while it is the default (or was the previous public name) and fits in 64 characters.
 */
export function withPublicIdentity(config: PosternConfig, next: PublicIdentity): PosternConfig {
  const out = structuredClone(config);
  const previous = [config.system.publicName, config.system.publicAddress].filter((v): v is string => !!v);
  const wanted = [next.publicName, next.publicAddress].map((v) => v?.trim()).filter((v): v is string => !!v);
  delete out.system.publicName;
  delete out.system.publicAddress;
  const name = next.publicName?.trim();
  const address = next.publicAddress?.trim();
  if (name) out.system.publicName = name.toLowerCase();
  if (address) out.system.publicAddress = address;
  const kept = config.certificates.server.sans.filter((s) => !previous.some((p) => same(p, s)) && !wanted.some((w) => same(w, s)));
  // A mistyped value is refused at system.publicName/publicAddress alone, not again as a certificate name.
  const fresh = [out.system.publicName, out.system.publicAddress].filter((v): v is string => !!v && FORMAT_CHECKS.host(v) === undefined);
  out.certificates.server.sans = [...fresh, ...kept].slice(0, 16);
  // The CRL and CA URLs written into certificates name the public identity too (issue 16's
  // publication.host), unless the technician set another host there.
  const host = out.certificates.publication?.host;
  if (!host || previous.some((p) => same(p, host))) {
    const { host: _old, ...rest } = out.certificates.publication ?? {};
    const publication = fresh[0] ? { ...rest, host: fresh[0] } : rest;
    if (Object.keys(publication).length > 0) out.certificates.publication = publication;
    else delete out.certificates.publication;
  }
  const cn = config.certificates.server.commonName;
  if (out.system.publicName && out.system.publicName.length <= MAX_COMMON_NAME && (cn === DEFAULT_COMMON_NAME || previous.some((p) => same(p, cn)))) {
    out.certificates.server.commonName = out.system.publicName;
  }
  return out;
}

/** A public name or address the gateway certificate does not carry: clients would refuse the gateway. */
export function publicIdentityErrors(config: PosternConfig): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const sans = config.certificates.server.sans;
  for (const key of ['publicName', 'publicAddress'] as const) {
    const value = config.system[key];
    if (value && !sans.some((s) => same(s, value))) {
      errors.push({ path: `system.${key}`, code: 'certificate', message: `'${value}' is not among the gateway certificate's names (certificates.server.sans): clients dialling it would refuse the gateway. Set it in Settings, which adds it there` });
    }
  }
  return errors;
}

/** Profiles that dial a name only the LAN can resolve (the default postern.local), or nothing public. */
export function publicIdentityWarnings(config: PosternConfig): ConfigIssue[] {
  if (config.system.publicName || config.system.publicAddress) return [];
  const dialled = dialledName(config);
  const local = /\.(local|lan|home\.arpa|internal)$/i.test(dialled) || !dialled.includes('.');
  const privateAddress = parseIp(dialled) !== undefined && isPrivate(dialled);
  if (!local && !privateAddress) return [];
  return [{ path: 'system.publicName', code: 'not-public', message: `client profiles dial '${dialled}', which devices outside the LAN cannot reach: set the gateway's public name or address` }];
}

/** RFC 1918, RFC 6598 (carrier-grade NAT), loopback and link-local IPv4; ULA and link-local IPv6. */
export function isPrivate(address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  const b = ip.bytes;
  if (ip.family === 6) return (b[0]! & 0xfe) === 0xfc || (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) || b.every((x, i) => x === (i === 15 ? 1 : 0));
  return b[0] === 10 || b[0] === 127 || (b[0] === 172 && (b[1]! & 0xf0) === 16) || (b[0] === 192 && b[1] === 168) || (b[0] === 169 && b[1] === 254) || (b[0] === 100 && (b[1]! & 0xc0) === 64);
}
