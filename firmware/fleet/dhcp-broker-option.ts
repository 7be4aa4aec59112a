/**
 * The fleet broker named by a DHCP option (issue 26), read from the DHCP client's lease. No standard
 * option names an MQTT broker, so Postern takes a **site-specific option** (RFC 2132 §2, codes
 * 224–254, "site-specific": no vendor registration, no clash with option 43's per-vendor layout):
 * 224 unless the board profile names another, holding the broker URL as text
 * (`mqtts://fleet.example.com:8883`). Option 43 was not chosen: its contents are defined per vendor
 * class (option 60), so a site would have to match Postern's class on its server before any
 * sub-option means anything.
 *
 * Lease formats read (sans-I/O: the text in, the URL or why out; never throws):
 * - ISC dhclient (`dhclient.leases`): the last `lease { … }` block's `option unknown-224 …;` (or a
 *   name the site's dhclient.conf gave it), as colon-separated hex bytes or a quoted string;
 * - systemd-networkd (`/run/systemd/netif/leases/<ifindex>`): `OPTION_224=<hex>`, as networkd saves
 *   the private options 224–254.
 * udhcpc keeps no lease file: its script must write the option (`$opt224`, hex) as a networkd-style
 * `OPTION_224=` line into a file the board profile names.
 */

export const DEFAULT_BROKER_OPTION = 224;
export const MAX_LEASE_TEXT = 256 * 1024;
const MAX_URL = 255;

export type LeaseFormat = 'dhclient' | 'networkd';
export type OptionRead = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly why: string };
export type BrokerRead = { readonly ok: true; readonly url: string } | { readonly ok: false; readonly why: string };

const validCode = (code: number) => Number.isInteger(code) && code >= 224 && code <= 254;

/** The newest lease's value of option `code` in a dhclient lease file. `names`: what dhclient.conf may call it. */
export function dhclientOption(text: string, code: number, names: readonly string[] = []): OptionRead {
  if (!validCode(code)) return { ok: false, why: `option ${code} is not a site-specific option (224-254)` };
  if (text.length > MAX_LEASE_TEXT) return { ok: false, why: `the lease file is larger than ${MAX_LEASE_TEXT} bytes` };
  const blocks = [...text.matchAll(/lease\s*\{([^}]*)\}/g)];
  const last = blocks.at(-1)?.[1];
  if (last === undefined) return { ok: false, why: 'no lease in the file' };
  const wanted = new Set([`unknown-${code}`, ...names]);
  let found: OptionRead | undefined;
  for (const statement of last.split(';')) {
    const m = /^\s*option\s+([A-Za-z0-9_.-]+)\s+([\s\S]*)$/.exec(statement);
    if (!m || !wanted.has(m[1]!)) continue;
    found = dhclientValue(m[2]!.trim());
  }
  return found ?? { ok: false, why: `the newest lease has no option ${code}` };
}

/** dhclient writes an option it does not know as hex bytes (`6d:71:…`) or, when printable, a quoted string. */
function dhclientValue(v: string): OptionRead {
  if (/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})*$/.test(v)) return { ok: true, bytes: Buffer.from(v.split(':').map((h) => parseInt(h, 16))) };
  const q = /^"((?:[^"\\]|\\.)*)"$/.exec(v);
  if (!q) return { ok: false, why: 'the option is neither hex bytes nor a quoted string' };
  const out: number[] = [];
  const s = q[1]!;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const octal = /^[0-7]{3}/.exec(s.slice(i + 1));
    if (octal) {
      out.push(parseInt(octal[0], 8) & 0xff);
      i += 3;
    } else if (i + 1 < s.length) {
      out.push(...Buffer.from(s[i + 1]!, 'utf8'));
      i += 1;
    }
  }
  return { ok: true, bytes: Buffer.from(out) };
}

/** Option `code` in a systemd-networkd lease file (`OPTION_224=<hex>`). */
export function networkdOption(text: string, code: number): OptionRead {
  if (!validCode(code)) return { ok: false, why: `option ${code} is not a site-specific option (224-254)` };
  if (text.length > MAX_LEASE_TEXT) return { ok: false, why: `the lease file is larger than ${MAX_LEASE_TEXT} bytes` };
  let found: OptionRead | undefined;
  for (const line of text.split('\n')) {
    const m = /^OPTION_(\d{3})=(.*)$/.exec(line.trim());
    if (!m || Number(m[1]) !== code) continue;
    const hex = m[2]!.trim();
    found = /^([0-9a-fA-F]{2})+$/.test(hex) ? { ok: true, bytes: Buffer.from(hex, 'hex') } : { ok: false, why: `OPTION_${code} is not hex` };
  }
  return found ?? { ok: false, why: `the lease has no option ${code}` };
}

/**
 * The option's bytes as a broker URL: `mqtts://host[:port]` (or `mqtt://` only when `plain` is
 * allowed: insecure), a host name or an IPv4 address, nothing else (no credentials, path or query).
 */
export function brokerFromOption(bytes: Buffer, plain = false): BrokerRead {
  if (bytes.length === 0 || bytes.length > MAX_URL) return { ok: false, why: `the option must hold a URL of 1 to ${MAX_URL} bytes` };
  const text = bytes.toString('utf8').replace(/\0+$/, ''); // some servers send a C string's NUL
  const m = /^(mqtts?):\/\/([A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?\/?$/.exec(text);
  if (!m) return { ok: false, why: 'the option is not mqtts://host[:port]' };
  const [, scheme, host, port] = m;
  if (scheme === 'mqtt' && !plain) return { ok: false, why: 'an unencrypted mqtt:// broker is taken only when the board profile allows it' };
  if (host!.split('.').some((label) => label.length === 0 || label.length > 63 || label.startsWith('-') || label.endsWith('-'))) return { ok: false, why: 'the host is not a valid name' };
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return { ok: false, why: 'the port must be 1 to 65535' };
  return { ok: true, url: `${scheme}://${host!.toLowerCase()}${port !== undefined ? `:${Number(port)}` : ''}` };
}

/** The broker from a lease file's text. */
export function brokerFromLease(text: string, format: LeaseFormat, code = DEFAULT_BROKER_OPTION, options: { plain?: boolean; names?: readonly string[] } = {}): BrokerRead {
  const read = format === 'dhclient' ? dhclientOption(text, code, options.names) : networkdOption(text, code);
  return read.ok ? brokerFromOption(read.bytes, options.plain === true) : read;
}
