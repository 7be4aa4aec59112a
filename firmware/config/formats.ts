import { parseIp, parsePrefix } from '../util/ip.ts';
import type { StringFormat } from './schema-types.ts';

/** Each format's check: undefined when the text is fine, else why not. */

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Algorithm words of strongSwan-style proposals ("aes256-sha1-modp1024"). */
export const PROPOSAL_WORDS: ReadonlySet<string> = new Set([
  'aes128', 'aes256', 'aes128gcm16', 'aes256gcm16', 'chacha20poly1305', '3des',
  'sha1', 'sha256', 'sha384', 'sha512', 'md5',
  'prfsha1', 'prfsha256', 'prfsha384', 'prfsha512',
  'modp1024', 'modp2048', 'modp3072', 'modp4096', 'ecp256', 'ecp384', 'curve25519', 'x25519',
  'esn', 'noesn',
]);

/**
 * RFC 3696 §2: a top-level label is never all digits, so "300.1.1.1" is a mistyped address, not a
 * host name (the HOSTNAME pattern alone let it through as one, issue 17).
 */
const isHostname = (s: string): boolean => HOSTNAME.test(s) && !/(^|\.)[0-9]+$/.test(s);
const looksNumeric = (s: string): boolean => /^[0-9.]+$/.test(s);
const IPV4_RULE = 'four numbers from 0 to 255 without leading zeros, like 203.0.113.5';
const BAD_IPV4 = `not a valid IPv4 address: ${IPV4_RULE}`;

/** Why an address with a prefix length is refused, in plain words; undefined when it parses. */
function prefixWhy(text: string, family: 4 | 6, example = family === 4 ? '10.1.0.0/24' : 'fd00::/64'): string | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return `needs a prefix length, like ${example}`;
  const address = text.slice(0, slash);
  const length = text.slice(slash + 1);
  const ip = parseIp(address);
  if (!ip || ip.family !== family) return family === 4 && looksNumeric(address) ? BAD_IPV4 : `'${address}' is not an IPv${family} address`;
  const max = family === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(length) || Number(length) > max) return `the prefix length must be a number from 0 to ${max}`;
  return undefined;
}

function cidr(text: string, family: 4 | 6): string | undefined {
  const why = prefixWhy(text, family);
  if (why) return why;
  const p = parsePrefix(text);
  if (!p || p.family !== family) return `not an IPv${family} network with a prefix length`;
  const bits = family === 4 ? 32 : 128;
  for (let bit = p.length; bit < bits; bit++) {
    if (((p.bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1) return 'has host bits set after the prefix length';
  }
  return undefined;
}

/** An IANA zone the runtime knows ("Mars/Base" is well-formed but unknown). */
function knownTimeZone(s: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: s });
    return true;
  } catch {
    return false;
  }
}

export const FORMAT_CHECKS: Record<StringFormat, (text: string) => string | undefined> = {
  name: (s) => (/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(s) ? undefined : 'letters, digits, . _ @ - (up to 64), starting with a letter or digit'),
  hostname: (s) => (isHostname(s) ? undefined : looksNumeric(s) ? (s.includes('.') ? `not a host name, and not a valid IPv4 address either: ${IPV4_RULE}` : 'not a host name: a name cannot be all digits') : 'not a valid host name'),
  host: (s) => (parseIp(s) || isHostname(s) ? undefined : looksNumeric(s) ? BAD_IPV4 : 'neither an IP address nor a host name'),
  ip: (s) => (parseIp(s) ? undefined : looksNumeric(s) ? BAD_IPV4 : 'not an IP address'),
  ipv4: (s) => (parseIp(s)?.family === 4 ? undefined : looksNumeric(s) ? BAD_IPV4 : 'not an IPv4 address'),
  cidr4: (s) => cidr(s, 4),
  address4: (s) => prefixWhy(s, 4, '192.168.1.1/24'),
  cidr6: (s) => cidr(s, 6),
  cidr: (s) => cidr(s, s.includes(':') ? 6 : 4),
  address6: (s) => prefixWhy(s, 6, 'fd00:255::1/64'),
  ntHash: (s) => (/^[0-9a-f]{32}$/i.test(s) ? undefined : 'not an NT password hash (32 hex digits)'),
  fingerprint: (s) => (/^([0-9a-f]{2}:?){31}[0-9a-f]{2}$/i.test(s) ? undefined : 'not a SHA-256 fingerprint (64 hex digits, colons allowed)'),
  interface: (s) => (/^[A-Za-z0-9._-]{1,15}$/.test(s) ? undefined : 'not a Linux interface name (1-15 characters)'),
  url: (s) => (/^(mqtts?|wss?):\/\/[^\s/]+(:\d{1,5})?(\/\S*)?$/.test(s) ? undefined : 'not an mqtt://, mqtts://, ws:// or wss:// URL'),
  httpsUrl: (s) => (/^https:\/\/[^\s/]+(:\d{1,5})?(\/\S*)?$/.test(s) ? undefined : 'not an https:// URL'),
  proposal: (s) => {
    const unknown = s.split('-').filter((w) => !PROPOSAL_WORDS.has(w));
    return s.length > 0 && unknown.length === 0 ? undefined : `unknown algorithm${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ') || '(empty)'}`;
  },
  path: (s) => (/^(\/[A-Za-z0-9._:@+-]+)+\/?$/.test(s) && !/(^|\/)\.\.?(\/|$)/.test(s) ? undefined : 'not an absolute path (no . or .. parts, no spaces)'),
  timezone: (s) => (/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+){0,2}$/.test(s) && knownTimeZone(s) ? undefined : 'not a time zone name like Europe/Berlin'),
};
