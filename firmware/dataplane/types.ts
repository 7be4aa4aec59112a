import type { Secret } from '../util/secret.ts';

/**
 * The data plane's vocabulary, shared by every back end (userspace drivers, kernel XFRM, the fake).
 * Modelled on what IKE needs from a kernel: SAs keyed by (SPI, destination), policies keyed by
 * selectors and direction, and slow-path events back up (acquire, expire).
 */

/** "10.1.0.0/16", "2001:db8::/64", or a host address (a /32 or /128). */
export interface TrafficSelector {
  readonly prefix: string;
  /** IP protocol number; absent means any. */
  readonly protocol?: number;
  /** A single port; absent means any. */
  readonly port?: number;
}

export const EspSuite = {
  aesGcm128: 'aes-gcm-128',
  aesGcm256: 'aes-gcm-256',
  aesCbc128HmacSha1: 'aes-cbc-128-hmac-sha1-96',
  aesCbc256HmacSha1: 'aes-cbc-256-hmac-sha1-96',
  aesCbc128HmacSha256: 'aes-cbc-128-hmac-sha256-128',
  aesCbc256HmacSha256: 'aes-cbc-256-hmac-sha256-128',
  chacha20Poly1305: 'chacha20-poly1305',
  /** 3DES (RFC 2451): weak (64-bit blocks), for IKEv1 peers that offer nothing better; flagged in config warnings. */
  tripleDesCbcHmacSha1: '3des-cbc-hmac-sha1-96',
  tripleDesCbcHmacSha256: '3des-cbc-hmac-sha256-128',
  tripleDesCbcHmacSha384: '3des-cbc-hmac-sha384-192',
} as const;
export type EspSuite = (typeof EspSuite)[keyof typeof EspSuite];

/**
 * Key material as IKE derives it (RFC 7296 §2.17). For the AEAD suites `encryption` is the key
 * followed by the 4-byte salt (RFC 4106 §8.1, RFC 7634 §4), exactly as KEYMAT is cut.
 */
export interface SaKeys {
  readonly encryption: Secret<Buffer>;
  readonly integrity?: Secret<Buffer>;
}

export interface SaLifetime {
  readonly softBytes?: bigint;
  readonly hardBytes?: bigint;
  readonly softPackets?: bigint;
  readonly hardPackets?: bigint;
}

/** ESP in UDP (RFC 3948): the ports on the outer header. */
export interface UdpEncapsulation {
  readonly sourcePort: number;
  readonly destinationPort: number;
  /**
   * Transport mode behind a NAT: the peer's original address (its NAT-OA, RFC 3947 §5.2), which its
   * TCP/UDP checksums were computed with (RFC 3948 §3.1.2); XFRM's encap_oa.
   */
  readonly originalAddress?: string;
}

export interface SaId {
  readonly spi: number;
  readonly destination: string;
}

export interface SaSpec extends SaId {
  readonly source: string;
  readonly direction: 'in' | 'out';
  readonly mode: 'tunnel' | 'transport';
  readonly suite: EspSuite;
  readonly keys: SaKeys;
  readonly esn: boolean;
  /** Packets; RFC 4303 §3.4.3. 0 disables the check (outbound SAs). */
  readonly replayWindow: number;
  /** Ties the SA to the policies that use it. */
  readonly reqid: number;
  readonly lifetime: SaLifetime;
  readonly encapsulation?: UdpEncapsulation;
}

/** What MOBIKE (RFC 4555) and NAT port changes move without rekeying. */
export interface SaUpdate {
  readonly source?: string;
  readonly destination?: string;
  readonly encapsulation?: UdpEncapsulation | null;
}

export interface SaCounters {
  readonly packets: bigint;
  readonly bytes: bigint;
  readonly replayDrops: bigint;
  readonly authFailures: bigint;
}

export interface PolicySpec {
  readonly source: TrafficSelector;
  readonly destination: TrafficSelector;
  readonly direction: 'in' | 'out' | 'fwd';
  readonly action: 'protect' | 'bypass' | 'discard';
  /** Lower is preferred, as in XFRM. */
  readonly priority: number;
  /** For `protect`: which SA (by reqid) and the outer addresses in tunnel mode. */
  readonly template?: { readonly source: string; readonly destination: string; readonly mode: 'tunnel' | 'transport'; readonly reqid: number };
}

export type PolicyId = Pick<PolicySpec, 'source' | 'destination' | 'direction'>;

export type DataPlaneEvent =
  /** Traffic matched a `protect` policy with no SA: IKE should negotiate one (RFC 4301 §5.1). */
  | { readonly type: 'acquire'; readonly policy: PolicyId; readonly reqid: number }
  | { readonly type: 'expire'; readonly sa: SaId; readonly hard: boolean };

export const DataPlaneFeature = {
  espTunnel: 'esp-tunnel',
  espTransport: 'esp-transport',
  udpEncapsulation: 'udp-encapsulation',
  esn: 'esn',
  gre: 'gre',
  pptpGre: 'pptp-gre',
} as const;
export type DataPlaneFeature = (typeof DataPlaneFeature)[keyof typeof DataPlaneFeature];

/** What a back end holds and has carried, for status pages and telemetry (no call per packet). */
export interface DataPlaneStats {
  readonly sas: number;
  readonly policies: number;
  /** Running tunnels (userspace) or installed SA pairs; 0 where the back end cannot tell. */
  readonly tunnels: number;
  readonly acquires: number;
  readonly expires: number;
}

/** One interface, several back ends (STYLE.md rule 3). Errors are PosternErrors with stable codes. */
export interface DataPlane {
  readonly kind: 'userspace' | 'kernel-xfrm' | 'fake';
  readonly features: ReadonlySet<DataPlaneFeature>;
  allocateSpi(source: string, destination: string): Promise<number>;
  addSa(spec: SaSpec): Promise<void>;
  updateSa(id: SaId, update: SaUpdate): Promise<void>;
  querySa(id: SaId): Promise<SaCounters | undefined>;
  deleteSa(id: SaId): Promise<void>;
  addPolicy(spec: PolicySpec): Promise<void>;
  deletePolicy(id: PolicyId): Promise<void>;
  /** Adds the policy, or replaces the one with the same selectors and direction (a new SA takes it over). */
  updatePolicy(spec: PolicySpec): Promise<void>;
  stats(): DataPlaneStats;
  /** Slow-path events; returns the unsubscribe function. */
  subscribe(listener: (event: DataPlaneEvent) => void): () => void;
  close(): Promise<void>;
}
