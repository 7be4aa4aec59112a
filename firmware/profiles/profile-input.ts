/*
 * What every client profile needs, taken from the configuration and the gateway's PKI: where to
 * dial, the identity the gateway proves with its certificate, the CA to trust, the user, and the
 * gateway's proposals in the order it prefers them (each client takes the first it can express).
 */
import { X509Certificate } from 'node:crypto';
import type { PosternConfig } from '../config/types.ts';
import type { GatewayPki } from '../pki/pki-store.ts';

export interface ProfileInput {
  /** Shown as the connection's name on the client. */
  readonly name: string;
  /** The address clients dial: the certificate's first SAN (what the gateway's IKE identity is). */
  readonly server: string;
  readonly user: string;
  readonly caPem: string;
  readonly caDer: Buffer;
  readonly caCommonName: string;
  readonly ikeProposals: readonly string[];
  readonly espProposals: readonly string[];
  /** EAP-MSCHAPv2 (username/password) or a client certificate. */
  readonly auth: 'eap' | 'certificate';
  readonly sstp: { readonly enabled: boolean; readonly port: number };
  readonly mobike: boolean;
}

export function profileInput(config: PosternConfig, pki: GatewayPki, user: string, name = `Postern ${config.system.hostname}`): ProfileInput {
  const ca = new X509Certificate(pki.ca.certificatePem);
  const ike = config.listeners.ikev2;
  return {
    name,
    server: config.certificates.server.sans[0] ?? config.certificates.server.commonName,
    user,
    caPem: pki.ca.certificatePem,
    caDer: ca.raw,
    caCommonName: /CN=([^\n,]+)/.exec(ca.subject)?.[1] ?? config.certificates.ca.commonName,
    ikeProposals: ike.proposals.ike,
    espProposals: ike.proposals.esp,
    auth: ike.auth === 'certificate' ? 'certificate' : 'eap',
    sstp: { enabled: config.listeners.sstp.enabled, port: config.listeners.sstp.port },
    mobike: ike.mobike,
  };
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
  readonly body: string;
  /** The proposals the profile configures (for tests and the UI). */
  readonly ike: string;
  readonly esp: string;
}

export class ProfileError extends Error {
  override name = 'ProfileError';
}
