/**
 * The gateway's public identity (issue 17): the name and/or address clients dial, shown with a
 * suggestion (the WAN's address) and changed as one configuration transaction that also puts it in
 * the gateway certificate's names; the certificate is then issued again at once, so the next profile
 * downloaded dials a name the certificate carries.
 */
import { X509Certificate } from 'node:crypto';
import { dialledName, isPrivate, withPublicIdentity } from '../../config/public-identity.ts';
import type { PosternConfig } from '../../config/types.ts';
import { ownValue } from '../../util/json-input.ts';
import type { ApiContext } from '../api-context.ts';
import { badRequest } from '../api-error.ts';
import type { InterfaceInfo } from '../system-interfaces.ts';
import type { Route } from '../router.ts';
import { applyOrThrow } from './config-routes.ts';

export interface AddressSuggestion {
  readonly address: string;
  /** A private address: the gateway is behind another router, whose public address clients need. */
  readonly private: boolean;
}

/**
 * The WAN's address: what the listeners bind (`resolved`, firmware/network: roles from the config and
 * the board) when the service knows it; else the static one configured, else the first IPv4 the WAN
 * interface has now.
 */
export function suggestPublicAddress(config: PosternConfig, interfaces: readonly InterfaceInfo[], resolved?: string): AddressSuggestion | undefined {
  if (resolved) return { address: resolved, private: isPrivate(resolved) };
  const { wan } = config.system;
  const configured = wan.mode === 'static' ? wan.address?.split('/')[0] : undefined;
  const live = interfaces.find((i) => i.name === wan.interface)?.addresses.map((a) => a.split('/')[0] ?? '').find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  const address = configured ?? live;
  return address ? { address, private: isPrivate(address) } : undefined;
}

/** The `publicName`/`publicAddress` of a body: strings (empty removes), or absent (unchanged). */
export function identityFromBody(body: unknown, current: PosternConfig): { publicName: string | undefined; publicAddress: string | undefined } {
  const pick = (key: 'publicName' | 'publicAddress'): string | undefined => {
    const v = ownValue(body, key);
    if (v === undefined) return current.system[key];
    if (typeof v !== 'string') throw badRequest(`'${key}' must be a string`, { field: `system.${key}` });
    return v;
  };
  return { publicName: pick('publicName'), publicAddress: pick('publicAddress') };
}

/** The names the gateway certificate in use carries ("DNS:x, IP Address:y" → ["x", "y"]). */
export function certificateNames(ctx: ApiContext): string[] {
  const san = new X509Certificate(ctx.pki().server.certificatePem).subjectAltName ?? '';
  return san.split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '')).filter(Boolean);
}

export function identityRoutes(ctx: ApiContext): Route[] {
  const config = () => ctx.store.current().config;
  const view = () => ({
    publicName: config().system.publicName ?? '',
    publicAddress: config().system.publicAddress ?? '',
    dialled: dialledName(config()),
    suggestion: suggestPublicAddress(config(), ctx.interfaces(), ctx.wanAddress?.()),
    certificateNames: certificateNames(ctx),
  });
  return [
    { method: 'GET', path: '/api/v1/identity', handler: () => ({ status: 200, body: view() }) },
    {
      method: 'PUT', path: '/api/v1/identity',
      handler: async (c) => {
        const next = withPublicIdentity(config(), identityFromBody(await c.body(), config()));
        const applied = await applyOrThrow(ctx, next, `public identity: ${dialledName(next)}`);
        // Loading the PKI issues the gateway certificate again when a configured name is missing from it.
        return { status: 200, body: { ...applied, ...view() } };
      },
    },
  ];
}
