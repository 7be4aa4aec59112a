import * as acme from 'acme-client';
import type { AcmeConfig } from '../../config/types.ts';
import { Secret } from '../../util/secret.ts';
import type { AcmeChallenges } from './acme-challenges.ts';

/** One certificate order (RFC 8555 §7.4) by the acme-client package; the protocol is its. */
export interface AcmeOrder {
  readonly config: AcmeConfig;
  /** DNS names; the first is the subject's common name. */
  readonly names: readonly string[];
  readonly accountKey: Secret<string>;
  readonly challenges: AcmeChallenges;
}

export type ObtainCertificate = (order: AcmeOrder) => Promise<{ certificatePem: string; keyPem: Secret<string> }>;

/**
 * The directory fetched once first: acme-client retries a connection error five times over 75 s and
 * then fails with a TypeError of its own, which would tell the administrator nothing. Our schedule
 * retries anyway; this makes the failure quick and names its cause.
 */
async function directoryReachable(url: string, timeoutMs = 15_000): Promise<void> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`the ACME directory ${url} cannot be reached: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`);
  }
}

export const createAccountKey = async (): Promise<Secret<string>> => new Secret((await acme.crypto.createPrivateEcdsaKey('P-256')).toString());

/**
 * Orders a certificate for the names with an ECDSA P-256 key (every client Postern serves accepts
 * it), answering HTTP-01 (publication listener) or TLS-ALPN-01 (SSTP listener) through the shared challenge table.
 */
export const obtainWithAcmeClient: ObtainCertificate = async (order) => {
  await directoryReachable(order.config.directoryUrl);
  const client = new acme.Client({ directoryUrl: order.config.directoryUrl, accountKey: order.accountKey.reveal() });
  const key = await acme.crypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acme.crypto.createCsr({ commonName: order.names[0]!, altNames: [...order.names] }, key);
  const certificatePem = await client.auto({
    csr,
    ...(order.config.email ? { email: order.config.email } : {}),
    termsOfServiceAgreed: true,
    challengePriority: [order.config.challenge],
    // The CA validates from outside; acme-client's own pre-check would fetch through the gateway's DNS.
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      if (challenge.type === 'http-01') return order.challenges.set(challenge.token, keyAuthorization);
      const [alpnKey, alpnCertificate] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
      order.challenges.setAlpn(authz.identifier.value, { certificatePem: alpnCertificate.toString(), keyPem: alpnKey.toString() });
    },
    challengeRemoveFn: async (authz, challenge) => {
      if (challenge.type === 'http-01') order.challenges.delete(challenge.token);
      else order.challenges.deleteAlpn(authz.identifier.value);
    },
  });
  return { certificatePem, keyPem: new Secret(key.toString()) };
};
