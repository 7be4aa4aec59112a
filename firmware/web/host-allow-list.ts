/**
 * The names the management server answers to. A DNS-rebinding page gets the browser to send requests
 * to the box under the page's own name, with a matching Origin, so comparing Origin with Host proves
 * nothing (issue 15.8). The Host header must instead name the box: its management address, loopback,
 * its configured hostname (and `.local` for mDNS), its certificate's names, an address one of its
 * interfaces has now, or a name the operator added (`system.management.allowedHosts`).
 *
 * Interface addresses change (DHCP on the WAN), so they are read again every few seconds, and at
 * once (at most once a second) when a Host is not found, so a new lease works without a restart.
 */
import { networkInterfaces } from 'node:os';
import type { PosternConfig } from '../config/types.ts';
import { parseIp } from '../util/ip.ts';

export interface HostAllowListOptions {
  /** The box's addresses now (node:os by default). */
  readonly interfaceAddresses?: () => string[];
  readonly now?: () => number;
}

const REFRESH_MS = 10_000;
const MISS_REFRESH_MS = 1_000;
const LOOPBACK = ['localhost', '127.0.0.1', '::1'];
/** A wildcard listen address is not a name of the box (and browsers send 0.0.0.0 to loopback). */
const UNSPECIFIED = new Set(['ip:00000000', `ip:${'00'.repeat(16)}`]);

/** A Host header's name without the port, in one canonical form (addresses by their bytes); undefined if malformed. */
export function hostName(header: string): string | undefined {
  const text = header.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+(?:%[\w.-]+)?)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return canonical(bracketed[1]!.split('%')[0]!, true);
  const plain = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  return plain ? canonical(plain[1]!.replace(/\.$/, ''), false) : undefined;
}

/** Names as themselves, addresses as `ip:` and their bytes in hex, so `::1` and `0:0::1` are one. */
function canonical(name: string, mustBeIp: boolean): string | undefined {
  const ip = parseIp(name);
  if (ip) return `ip:${ip.bytes.toString('hex')}`;
  return mustBeIp || name === '' ? undefined : name;
}

const osAddresses = (): string[] =>
  Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));

export class HostAllowList {
  readonly #interfaceAddresses: () => string[];
  readonly #now: () => number;
  #configured = new Set<string>();
  #interfaces = new Set<string>();
  #readAt = -Infinity;

  constructor(options: HostAllowListOptions = {}) {
    this.#interfaceAddresses = options.interfaceAddresses ?? osAddresses;
    this.#now = options.now ?? Date.now;
  }

  /** The names from the configuration and the address the server listens on. */
  configure(config: PosternConfig, listenHost: string): void {
    const hostname = config.system.hostname.toLowerCase();
    const names = [
      ...LOOPBACK,
      listenHost,
      hostname,
      `${hostname}.local`,
      ...config.certificates.server.sans,
      ...(config.system.management.allowedHosts ?? []),
    ];
    const wanted = names.map((n) => canonical(n.toLowerCase().replace(/\.$/, ''), false));
    this.#configured = new Set(wanted.filter((n): n is string => n !== undefined && !UNSPECIFIED.has(n)));
  }

  /** Whether a request with this Host header is for this box. A request without one (HTTP/1.0) is not a browser's. */
  allows(header: string | undefined): boolean {
    if (header === undefined) return true;
    const name = hostName(header);
    if (name === undefined) return false;
    if (this.#configured.has(name)) return true;
    if (!name.startsWith('ip:')) return false;
    const now = this.#now();
    if (now - this.#readAt >= REFRESH_MS || (!this.#interfaces.has(name) && now - this.#readAt >= MISS_REFRESH_MS)) this.#readInterfaces(now);
    return this.#interfaces.has(name);
  }

  #readInterfaces(now: number): void {
    this.#readAt = now;
    this.#interfaces = new Set(this.#interfaceAddresses().map((a) => canonical(a.split('%')[0]!, true)).filter((n): n is string => n !== undefined));
  }
}
