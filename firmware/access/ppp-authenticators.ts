/*
 * Which authenticator the gateway runs for the method LCP agreed on: against the local users, or
 * for MS-CHAPv2 the listener's verifier (local, RADIUS, RADIUS then local), and for EAP, with
 * RADIUS, the relay to it (any method the server runs; issue 21).
 * Offered by default: MS-CHAPv2 (what Windows, sstpc and pppd use) and EAP (EAP-MSCHAPv2 here).
 * MS-CHAPv1, CHAP-MD5 and PAP work but only when a listener asks for them (`legacyAuth`), and are
 * flagged; checked by the listener's password verifier (local users or RADIUS: MS-CHAP-Response,
 * CHAP-Password, User-Password). Of the three only MS-CHAPv1 keys MPPE (RFC 3079 §2.3).
 */
import { EapMschapv2Server } from '../auth/eap/mschapv2-server.ts';
import { EapRadiusRelay, type EapRadius } from '../auth/eap/eap-radius-relay.ts';
import type { RadiusAttribute } from '../radius/packet.ts';
import { localMschapv2Verifier, type Mschapv2Verifier } from '../auth/mschapv2-verifier.ts';
import { localPasswordVerifier, type PasswordVerifier } from '../auth/password-verifier.ts';
import { ChapMd5Authenticator } from '../ppp/chap/chap-md5.ts';
import { Mschapv1Authenticator } from '../ppp/chap/mschapv1-authenticator.ts';
import { Mschapv2Authenticator } from '../ppp/chap/mschapv2-authenticator.ts';
import { PppEapAuthenticator } from '../ppp/eap/ppp-eap-authenticator.ts';
import type { AuthMethod } from '../ppp/lcp.ts';
import type { PppAuthenticator } from '../ppp/link.ts';
import { PapAuthenticator } from '../ppp/pap/pap.ts';
import type { UserLookup } from '../crypto/user-credential.ts';

export interface AuthenticatorContext {
  readonly users: UserLookup;
  readonly random: (n: number) => Uint8Array;
  readonly serverName?: string;
  /** Who checks MS-CHAPv2 Responses: the local users when absent, or RADIUS (auth/mschapv2-verifier.ts). */
  readonly verifier?: Mschapv2Verifier;
  /** Who checks MS-CHAPv1, PAP and CHAP-MD5 (where a listener allows them): the local users when absent, or RADIUS (auth/password-verifier.ts). */
  readonly passwordVerifier?: PasswordVerifier;
  /** The session's wake: a verdict that comes later (RADIUS) is sent at the next tick. */
  readonly wake?: () => void;
  /** EAP relayed to RADIUS instead of EAP-MSCHAPv2 here: the client and this call's NAS attributes. */
  readonly eapRadius?: { readonly radius: EapRadius; readonly nas: readonly RadiusAttribute[] };
}

/** The methods offered in LCP, preferred first. */
export const GATEWAY_AUTH_METHODS: readonly AuthMethod[] = ['mschapv2', 'eap'];

/** The legacy methods, after the default ones, only with a listener's `legacyAuth` (flagged insecure). */
export const LEGACY_AUTH_METHODS: readonly AuthMethod[] = ['mschapv1', 'chap-md5', 'pap'];

export const listenerAuthMethods = (legacyAuth: boolean | undefined): readonly AuthMethod[] => (legacyAuth ? [...GATEWAY_AUTH_METHODS, ...LEGACY_AUTH_METHODS] : GATEWAY_AUTH_METHODS);

/** Why a method is weak, for the logs and the web UI; undefined for the ones we recommend. */
export function insecureAuthMethod(method: AuthMethod): string | undefined {
  switch (method) {
    case 'pap': return 'PAP sends the password in clear';
    case 'chap-md5': return 'CHAP-MD5 makes no keys and a captured exchange can be brute-forced offline';
    case 'mschapv1': return 'MS-CHAPv1 does not authenticate the server and a captured exchange can be cracked offline';
    case 'mschapv2': return undefined; // weak on its own (MS-CHAPv2 is crackable), but only ever run inside TLS (SSTP) or IPsec
    case 'eap': return undefined;
  }
}

export function pppAuthenticatorFor(method: AuthMethod, ctx: AuthenticatorContext): PppAuthenticator | undefined {
  const serverName = ctx.serverName ?? 'postern';
  switch (method) {
    case 'mschapv2': return new Mschapv2Authenticator({ serverName, verifier: ctx.verifier ?? localMschapv2Verifier(ctx.users), random: ctx.random, ...(ctx.wake ? { wake: ctx.wake } : {}) });
    case 'eap': return new PppEapAuthenticator(ctx.eapRadius
      ? new EapRadiusRelay(ctx.eapRadius.radius, ctx.eapRadius.nas, ctx.random, ctx.wake)
      : new EapMschapv2Server(localMschapv2Verifier(ctx.users), ctx.random, serverName));
    case 'mschapv1': return new Mschapv1Authenticator({ serverName, verifier: ctx.passwordVerifier ?? localPasswordVerifier(ctx.users), random: ctx.random, ...(ctx.wake ? { wake: ctx.wake } : {}) });
    case 'chap-md5': return new ChapMd5Authenticator({ serverName, verifier: ctx.passwordVerifier ?? localPasswordVerifier(ctx.users), random: ctx.random, ...(ctx.wake ? { wake: ctx.wake } : {}) });
    case 'pap': return new PapAuthenticator(ctx.passwordVerifier ?? localPasswordVerifier(ctx.users), ctx.wake ? { wake: ctx.wake } : {});
  }
}
