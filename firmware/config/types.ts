/**
 * The configuration document (format version 2). The schema tables in schema.ts describe the same
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
}

export interface SystemConfig {
  hostname: string;
  timezone: string;
  wan: { interface: string; mode: 'dhcp' | 'static'; address?: string; gateway?: string };
  lan: { interface: string; address: string };
  dns: { servers: string[] };
  management: { listen: string; port: number; https: boolean };
}

export interface AdminConfig {
  /** scrypt hash; null until the first-boot setup sets the password. */
  passwordHash: string | null;
  sessionTimeoutMinutes: number;
}

/** Cleartext because CHAP and MS-CHAPv2 need it; the file is 0600 and every output redacts it. */
export interface UserConfig {
  name: string;
  password: string;
  enabled: boolean;
  staticIPv4?: string;
}

export interface PoolConfig {
  name: string;
  ipv4: string;
  ipv6?: string;
  dns: string[];
}

export type IkeAuth = 'eap-mschapv2' | 'certificate' | 'psk';

export interface ListenersConfig {
  ikev2: {
    enabled: boolean;
    auth: IkeAuth;
    psk?: string;
    pool: string;
    proposals: { ike: string[]; esp: string[] };
    mobike: boolean;
    fragmentation: boolean;
  };
  sstp: { enabled: boolean; port: number; pool: string; mppe: 'off' | 'allow' | 'require'; limits?: SstpLimitsConfig };
  l2tp: { enabled: boolean; psk: string; pool: string };
  pptp: { enabled: boolean; pool: string };
}

/** Left out: the listener's defaults (firmware/sstp/admission.ts). */
export interface SstpLimitsConfig {
  perSource?: number;
  handshakes?: number;
  calls?: number;
}

export type ListenerName = keyof ListenersConfig;

export interface SiteConfig {
  name: string;
  protocol: 'ikev2' | 'sstp' | 'l2tp' | 'pptp' | 'gre';
  remote: string;
  port?: number;
  localSubnets: string[];
  remoteSubnets: string[];
  auth: 'psk' | 'certificate';
  psk?: string;
  username?: string;
  password?: string;
  serverFingerprint?: string;
  initiate: boolean;
  enabled: boolean;
}

export interface CertificatesConfig {
  ca: { commonName: string; validityDays: number };
  server: { commonName: string; sans: string[] };
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
  };
}

/** One problem with a document: where, why, and a stable code for the API. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  readonly code: string;
}
