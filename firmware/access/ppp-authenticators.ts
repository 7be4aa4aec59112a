/*
 * Which authenticator the gateway runs for the method LCP agreed on. MS-CHAPv2 only for now: it is
 * what Windows, sstpc and pppd use by default, and it gives SSTP's crypto binding its keys.
 * CHAP-MD5, PAP (flagged insecure) and EAP pass-through come with the RADIUS work.
 */
import { Mschapv2Authenticator } from '../ppp/chap/mschapv2-authenticator.ts';
import type { AuthMethod } from '../ppp/lcp.ts';
import type { PppAuthenticator } from '../ppp/link.ts';
import type { Secret } from '../util/secret.ts';

export interface AuthenticatorContext {
  readonly users: (name: string) => Secret<string> | undefined;
  readonly random: (n: number) => Uint8Array;
  readonly serverName?: string;
}

/** The methods offered in LCP, preferred first. */
export const GATEWAY_AUTH_METHODS: readonly AuthMethod[] = ['mschapv2'];

export function pppAuthenticatorFor(method: AuthMethod, ctx: AuthenticatorContext): PppAuthenticator | undefined {
  if (method === 'mschapv2') return new Mschapv2Authenticator({ serverName: ctx.serverName ?? 'postern', users: ctx.users, random: ctx.random });
  return undefined;
}
