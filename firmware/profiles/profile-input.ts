/*
 * What every client profile needs, taken from the configuration and the gateway's PKI: where to
 * dial, the identity the gateway proves with its certificate, the CA to trust, the user, and the
 * gateway's proposals in the order it prefers them (each client takes the first it can express).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { dialledName, isPrivate } from '../config/public-identity.ts';
import { IKEV1_DEFAULT_PROPOSALS } from '../ikev1/ikev1-connections.ts';
import type { PosternConfig } from '../config/types.ts';
import type { GatewayPki } from '../pki/pki-store.ts';
import { Secret } from '../util/secret.ts';

export interface ProfileInput {
  /** Shown as the connection's name on the client: named after the gateway, so two never collide. */
  readonly name: string;
  /**
   * The address clients dial and the identity they expect: the gateway's public name or address
   * (system.publicName/publicAddress, also the certificate's first names), else the certificate's first SAN.
   */
  readonly server: string;
  /** The common name of the gateway certificate in use (Apple checks it). */
  readonly serverCommonName: string;
  readonly user: string;
  readonly caPem: string;
  readonly caDer: Buffer;
  readonly caCommonName: string;
  /**
   * The gateway's certificate is a public CA's (ACME, issue 16): clients check it against their own
   * trust store, so no profile imports Postern's CA as a root or pins the issuer's name (a public
   * CA's intermediates change). Postern's CA still signs client certificates for certificate login.
   */
  readonly publicServerCertificate: boolean;
  readonly ikeProposals: readonly string[];
  readonly espProposals: readonly string[];
  /** EAP-MSCHAPv2 (username/password) or a client certificate. */
  readonly auth: 'eap' | 'certificate';
  readonly sstp: { readonly enabled: boolean; readonly port: number };
  readonly mobike: boolean;
  /** Windows: a connection for every user of the PC (-AllUserConnection) instead of the current user's. */
  readonly allUserConnection: boolean;
  /** Certificate login: the user's PKCS#12 and the identity its certificate names (client-identity.ts). */
  readonly clientCertificate?: ClientCertificate;
  /** The gateway certificate and key that sign Apple profiles (CMS SignedData), with its chain. */
  readonly signer?: ProfileSigner;
  /** L2TP/IPsec (issue 20): only when `listeners.l2tp.enabled`; the L2TP profiles are offered only then. */
  readonly l2tp?: L2tpProfileInput;
}

/** What an L2TP/IPsec profile needs beyond the common part: the IKEv1 transport-mode SA's settings. */
export interface L2tpProfileInput {
  /** The group pre-shared key (empty with certificates): only ever written into the download. */
  readonly psk: Secret<string>;
  /** IPsec authentication: the group PSK, or the gateway's certificate and the user's (`clientCertificate`). */
  readonly auth: 'psk' | 'certificate';
  /** The IKEv1 responder's proposals (configured, else its defaults), preferred first. */
  readonly ikeProposals: readonly string[];
  readonly espProposals: readonly string[];
  /**
   * The gateway may sit behind a NAT (its WAN address private, or unknown from DHCP): Windows then
   * needs AssumeUDPEncapsulationContextOnSendRule, or it refuses NAT-T to the gateway.
   */
  readonly gatewayBehindNat: boolean;
}

export interface ClientCertificate {
  /** Password-protected (the platforms ask for the password when importing it; it is never in a profile). */
  readonly p12: Buffer;
  /** What the client sends as its IKE identity: the e-mail address in the certificate's subjectAltName. */
  readonly identity: string;
}

export interface ProfileSigner {
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
}

export interface ProfileOptions {
  readonly name?: string;
  readonly allUserConnection?: boolean;
  readonly clientCertificate?: ClientCertificate;
}

const commonName = (subject: string): string | undefined => /(?:^|\n|, )CN=([^\n,]+)/.exec(subject)?.[1];

export function profileInput(config: PosternConfig, pki: GatewayPki, user: string, options: ProfileOptions = {}): ProfileInput {
  const ca = new X509Certificate(pki.ca.certificatePem);
  const ike = config.listeners.ikev2;
  const server = dialledName(config);
  return {
    // Issue 17: every box was "Postern postern", so a second branch's profile replaced the first's.
    name: options.name ?? `Postern ${server}`,
    server,
    serverCommonName: commonName(new X509Certificate(pki.server.certificatePem).subject) ?? config.certificates.server.commonName,
    user,
    caPem: pki.ca.certificatePem,
    caDer: ca.raw,
    caCommonName: commonName(ca.subject) ?? config.certificates.ca.commonName,
    publicServerCertificate: pki.server.acme === true,
    ikeProposals: ike.proposals.ike,
    espProposals: ike.proposals.esp,
    auth: ike.auth === 'certificate' ? 'certificate' : 'eap',
    sstp: { enabled: config.listeners.sstp.enabled, port: config.listeners.sstp.port },
    mobike: ike.mobike,
    allUserConnection: options.allUserConnection ?? false,
    ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}),
    signer: { certificatePem: pki.server.certificatePem, keyPem: pki.server.keyPem },
    ...(config.listeners.l2tp.enabled ? { l2tp: l2tpInput(config) } : {}),
  };
}

function l2tpInput(config: PosternConfig): L2tpProfileInput {
  const l2tp = config.listeners.l2tp;
  const proposals = l2tp.ipsec?.proposals ?? IKEV1_DEFAULT_PROPOSALS;
  const wan = config.system.wan;
  const wanAddress = wan.mode === 'static' ? wan.address?.split('/')[0] : undefined;
  return {
    psk: new Secret(l2tp.psk),
    auth: l2tp.ipsec?.auth ?? 'psk',
    ikeProposals: proposals.ike,
    espProposals: proposals.esp,
    gatewayBehindNat: wanAddress === undefined || isPrivate(wanAddress),
  };
}

/**
 * A UUID that is the same for every download of one user's profile for one gateway (RFC 4122 layout,
 * version 5 bits over SHA-256): importing it again updates the profile instead of adding a twin, and
 * two gateways' profiles never share one.
 */
export function stableUuid(...parts: readonly string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The first configured proposal the client's table can express, with its expression. */
export function firstExpressible<T>(configured: readonly string[], table: Readonly<Record<string, T>>): { readonly proposal: string; readonly value: T } | undefined {
  for (const proposal of configured) {
    const value = table[proposal];
    if (value !== undefined) return { proposal, value };
  }
  return undefined;
}

/** A profile for one client kind: what the browser downloads. */
export interface ClientProfile {
  readonly filename: string;
  readonly contentType: string;
  /** Text, or DER for a signed Apple profile. */
  readonly body: string | Buffer;
  /** How to install it, in a few plain steps (shown beside the download; install-text.ts). */
  readonly install: string;
  /** The proposals the profile configures (for tests and the UI). */
  readonly ike: string;
  readonly esp: string;
}

/** What each client's builder makes; clientProfile adds the install text. */
export type ProfileFile = Omit<ClientProfile, 'install'>;

export class ProfileError extends Error {
  override name = 'ProfileError';
}
