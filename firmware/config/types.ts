/**
 * The configuration document (format version 3). The schema tables in schema.ts describe the same
 * shape field by field; the test that validates defaultConfig() keeps the two in step.
 */

export interface PosternConfig {
  version: number;
  system: SystemConfig;
  admin: AdminConfig;
  users: UserConfig[];
  pools: PoolConfig[];
  listeners: ListenersConfig;
  sites: SiteConfig[];
  certificates: CertificatesConfig;
  telemetry: TelemetryConfig;
  /** Issue 21: the RADIUS servers listeners with `auth: radius` ask, in priority order. */
  radius?: RadiusConfig;
}

/** local users; RADIUS; or RADIUS, then local users when no RADIUS server answers (logged). */
export type ListenerAuth = 'local' | 'radius' | 'radius-then-local';

export interface RadiusConfig {
  /** NAS-Identifier sent with every request; the hostname when absent. */
  nasIdentifier?: string;
  /** NAS-IP-Address sent beside it; none when absent. */
  nasIpAddress?: string;
  /** Interim-Update per session this often when the server sends no Acct-Interim-Interval; none when absent. */
  interimSeconds?: number;
  /** The floor on the server's Acct-Interim-Interval (RFC 2869 §5.16: 60 s); lower only in tests. */
  interimMinimumSeconds?: number;
  servers: RadiusServerConfig[];
  /** RFC 5176 Disconnect/CoA from these clients only. */
  dynamicAuthorization?: DynamicAuthorizationConfig;
}

export interface DynamicAuthorizationConfig {
  enabled: boolean;
  /** The LAN address when absent. */
  listen?: string;
  port: number;
  clients: Array<{ name: string; address: string; /** Redacted everywhere. */ secret: string }>;
}

export interface RadiusServerConfig {
  name: string;
  address: string;
  authPort: number;
  acctPort: number;
  /** The shared secret; redacted everywhere. Not used with RadSec (its secret is "radsec", RFC 6614 §2.3). */
  secret?: string;
  /** RADIUS over TLS (RFC 6614) to this server instead of UDP: auth and accounting on one connection. */
  radsec?: RadsecConfig;
  /** The wait for this server's answer before sending again, doubling each time (RFC 5080's IRT); 2 s when absent. */
  timeoutSeconds?: number;
  /** Requests sent again before the next server is tried; 2 when absent. */
  retries?: number;
}

export interface RadsecConfig {
  /** TCP port; 2083 when absent. */
  port?: number;
  /** PEM of the CA the server's certificate must chain to. */
  ca: string;
  /** The name its certificate must carry; the address when absent. */
  serverName?: string;
  /** An imported client certificate and its key (PEM); one from Postern's CA when absent. */
  clientCertificate?: string;
  clientKey?: string;
}

export interface DynamicDnsConfig {
  enabled: boolean;
  method: 'rfc2136' | 'http';
  server?: string;
  port: number;
  zone?: string;
  keyName?: string;
  /** Base64, HMAC-SHA256 (BIND's `secret`). */
  keySecret?: string;
  /** dyndns2 style, {name} and {address} filled in; secret, since some providers put the token in it. */
  url?: string;
  username?: string;
  password?: string;
  ttl: number;
}

export interface SystemConfig {
  hostname: string;
  /**
   * The gateway's public identity (issue 17): the DNS name and/or address clients dial from outside.
   * Every client profile dials it, and it is in the gateway certificate's names (certificates.server.sans).
   */
  publicName?: string;
  publicAddress?: string;
  timezone: string;
  wan: { interface: string; mode: 'dhcp' | 'static'; address?: string; gateway?: string };
  lan: { interface: string; address: string };
  dns: { servers: string[] };
  /** Updates of the public name when the WAN address changes (issue 17); secrets redacted in logs and exports. */
  dynamicDns?: DynamicDnsConfig;
  /** NTP servers the box keeps its clock by (issue 17); absent: the system's own. */
  ntp?: { servers: string[] };
  /** `allowedHosts`: names besides the box's own that the web UI answers to (Host header). */
  /** `hsts`: Strict-Transport-Security also with Postern's own CA's certificate (always with a public CA's). */
  management: { listen: string; port: number; https: boolean; hsts?: boolean; allowedHosts?: string[] };
}

export interface AdminConfig {
  /** scrypt hash; null until the first-boot setup sets the password. */
  passwordHash: string | null;
  sessionTimeoutMinutes: number;
}

/**
 * A VPN user. MS-CHAPv2, EAP-MSCHAPv2 and PAP need only the NT hash (RFC 2759 §8.3), so that is what
 * is stored; the API takes a password and keeps its hash. The password stays in clear only for a user
 * who needs CHAP-MD5 (`chapMd5`, flagged insecure at every validation).
 */
export interface UserConfig {
  name: string;
  /** NtPasswordHash: MD4 of the UTF-16LE password, 32 hex digits. */
  ntHash: string;
  /** Only with `chapMd5`. */
  password?: string;
  chapMd5?: boolean;
  enabled: boolean;
  staticIPv4?: string;
}

export interface PoolConfig {
  name: string;
  ipv4: string;
  ipv6?: string;
  dns: string[];
  /** Issue 20: routes and DNS domain for PPP clients' DHCPINFORM; the LAN and no domain when absent. */
  routes?: string[];
  domain?: string;
}

export type IkeAuth = 'eap-mschapv2' | 'certificate' | 'psk';

export interface ListenersConfig {
  ikev2: {
    enabled: boolean;
    auth: IkeAuth;
    /** Who checks EAP-MSCHAPv2 passwords (issue 21); local users when absent. */
    userAuth?: ListenerAuth;
    /** With userAuth radius: every EAP packet relayed to RADIUS (RFC 3579) instead of EAP-MSCHAPv2 here. */
    eapPassThrough?: boolean;
    psk?: string;
    pool: string;
    proposals: { ike: string[]; esp: string[] };
    mobike: boolean;
    fragmentation: boolean;
  };
  /** `auth`: who checks passwords (issue 21); local users when absent. */
  sstp: { enabled: boolean; port: number; pool: string; mppe: 'off' | 'allow' | 'require'; dataPath?: 'native' | 'javascript'; kernelTls?: boolean; limits?: SstpLimitsConfig; auth?: ListenerAuth };
  l2tp: {
    enabled: boolean;
    /** Who checks PPP passwords (issue 21); local users when absent. */
    auth?: ListenerAuth;
    psk: string;
    pool: string;
    /** RFC 2661 tunnel secret (tunnel authentication, hidden AVPs); none when absent. */
    secret?: string;
    /** Issue 20: L2TP outside the IPsec SA (insecure, flagged); off when absent. */
    allowPlain?: boolean;
    /** Issue 21: CHAP-MD5 and PAP offered after MS-CHAPv2 and EAP (insecure, flagged); off when absent. */
    legacyAuth?: boolean;
    /** Issue 19: the IKEv1 transport-mode SA under L2TP (used by the L2TP issue); left out: PSK, default proposals. */
    ipsec?: {
      auth: 'psk' | 'certificate';
      proposals?: { ike: string[]; esp: string[] };
      /** DPD delay (30 s when absent) and timeout (after the retransmission tries when absent), issue 20. */
      dpdSeconds?: number;
      dpdTimeoutSeconds?: number;
    };
  };
  /** `auth`: who checks PPP passwords (issues 21, 22); local users when absent. */
  pptp: { enabled: boolean; pool: string; auth?: ListenerAuth; mppe?: 'stateless' | 'stateful-allowed' | 'optional'; legacyAuth?: boolean };
}

/** Left out: the listener's defaults (firmware/sstp/admission.ts). */
export interface SstpLimitsConfig {
  perSource?: number;
  handshakes?: number;
  calls?: number;
  handshakeSeconds?: number;
}

export type ListenerName = keyof ListenersConfig;

export interface SiteConfig {
  name: string;
  protocol: 'ikev2' | 'ikev1' | 'sstp' | 'l2tp' | 'pptp' | 'gre';
  remote: string;
  port?: number;
  localSubnets: string[];
  remoteSubnets: string[];
  auth: 'psk' | 'certificate';
  psk?: string;
  username?: string;
  password?: string;
  serverFingerprint?: string;
  /** An IKEv1 site's proposals (issue 19); left out: strong defaults (firmware/ikev1/ikev1-connections.ts). */
  proposals?: { ike: string[]; esp: string[] };
  /** IKEv1 sites only: Aggressive Mode instead of Main Mode (insecure with a PSK: its hash can be cracked offline); absent means false. */
  aggressive?: boolean;
  /** IKEv2 child rekeys: absent means 'auto'. */
  pfs?: 'auto' | 'on' | 'off';
  /** IKE sites: the identity this gateway sends (an address, DNS name or user@name); absent: the WAN address, or the certificate's name. */
  localId?: string;
  /** IKE sites: the identity the peer must send; absent: its address. Tells apart peers behind one NAT or on dynamic addresses. */
  remoteId?: string;
  /** GRE sites only (issue 25): the point-to-point interface and its framing. */
  gre?: GreSiteConfig;
  initiate: boolean;
  enabled: boolean;
}

/** A GRE site's interface `gre-<site>` (RFC 2784/2890): plain GRE is not encrypted. */
export interface GreSiteConfig {
  /** This end's tunnel address with the link's prefix length, e.g. 10.255.0.1/30. */
  address: string;
  /** The peer's tunnel address; absent: the other host of a /30 or /31. */
  peerAddress?: string;
  /** IPv6 inside the tunnel: this end's address with its prefix length, e.g. fd00:255::1/64; absent: link-local only. */
  address6?: string;
  /** The interface's MTU; absent: 1476 (1472 with a key), what 1500 leaves after the outer IPv4 and GRE headers. */
  mtu?: number;
  /** RFC 2890 key, sent and required; absent: none. */
  key?: number;
  /** Send checksums (RFC 2784 §2.5) and require them on receipt; received ones are always checked. */
  checksum?: boolean;
  /** Send sequence numbers (RFC 2890 §2.2) and require them on receipt: duplicates and late packets dropped. */
  sequence?: boolean;
  /** Seconds between keepalive probes while nothing arrives; absent: 10; 0: off (the site is then up while configured). */
  keepaliveSeconds?: number;
  /** Probes without an answer before the site is down; absent: 3. */
  keepaliveRetries?: number;
  /**
   * GRE over IPsec: an IKEv2 child SA in transport mode between the two WAN addresses for protocol 47
   * only, keyed with the site's auth, psk, localId and remoteId; dialed by the side with `initiate`.
   * Absent: plain GRE.
   */
  ipsec?: boolean;
}

export interface CertificatesConfig {
  ca: { commonName: string; validityDays: number };
  server: { commonName: string; sans: string[] };
  /** Left out: enabled, on port 80 of every address, named by the gateway certificate's first DNS name. */
  publication?: CertificatePublicationConfig;
  /** Revocation check of peers' certificates from Postern's own CA (its own list); absent means 'hard'. */
  revocation?: RevocationPolicy;
  /** Other CAs peers' certificates may come from, each with its revocation policy. */
  trusted?: TrustedCaConfig[];
  /** A public certificate for the gateway's name by ACME (RFC 8555); absent means off. */
  acme?: AcmeConfig;
}

/** ACME (RFC 8555, issue 16): the certificate replaces the built-in CA's as the gateway's. */
export interface AcmeConfig {
  enabled: boolean;
  /** The CA's directory URL (RFC 8555 §7.1.1). */
  directoryUrl: string;
  email?: string;
  /** http-01 on the publication listener (port 80); tls-alpn-01 on the SSTP port. */
  challenge: 'http-01' | 'tls-alpn-01';
}

/** off: not checked; soft: refused when revoked; hard: refused too when no answer can be had. */
export type RevocationPolicy = 'off' | 'soft' | 'hard';

export interface TrustedCaConfig {
  name: string;
  /** PEM. */
  certificate: string;
  /** Absent means 'soft'. */
  revocation?: RevocationPolicy;
}

export interface CertificatePublicationConfig {
  enabled?: boolean;
  host?: string;
  port?: number;
  listen?: string;
}

export interface TelemetryConfig {
  mqtt: {
    enabled: boolean;
    url: string;
    username?: string;
    password?: string;
    clientCertificate?: string;
    prefix: string;
    deviceId: string;
    intervalSeconds: number;
    commandsEnabled: boolean;
    /** The broker by DNS SRV under a domain (issue 26); absent: `url`. */
    discovery?: { domain?: string; plain?: boolean; dhcpLease?: { file: string; format: 'dhclient' | 'networkd'; option?: number } };
    /** The fetch-upgrade command (issue 18); absent: off. */
    upgradeCommand?: boolean;
    /** Signed desired configuration from the fleet console (issue 26); absent: off. */
    fleet?: FleetConfig;
  };
}

export interface FleetConfig {
  enabled: boolean;
  /** The operators' Ed25519 public keys (base64 of the raw 32 bytes, or PEM). */
  operatorKeys: string[];
  /** Groups whose desired documents this box takes too. */
  groups: string[];
  /** A change to the WAN or the MQTT settings reverts unless the box reaches its broker again within this. */
  confirmSeconds: number;
  /** What a technician's local change does: kept and reported as drift (absent), or undone by the desired state. */
  onLocalChange?: 'keep' | 'desired-wins';
}

/** One problem with a document: where, why, and a stable code for the API. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly code: string;
}
