import { X509Certificate } from 'node:crypto';
import type { PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { RevocationService, type UserState } from './revocation-service.ts';

/** The other CAs the configuration trusts for peer certificates, as certificates; unreadable ones logged and left out. */
export function trustedCas(config: PosternConfig, log?: Logger): Array<{ name: string; ca: X509Certificate; policy: 'off' | 'soft' | 'hard' }> {
  return (config.certificates.trusted ?? []).flatMap((t) => {
    try {
      const ca = new X509Certificate(t.certificate);
      if (!ca.ca) throw new Error('not a CA certificate');
      return [{ name: t.name, ca, policy: t.revocation ?? 'soft' }];
    } catch (error) {
      log?.error('trusted CA left out', { name: t.name, error: error instanceof Error ? error.message : String(error) });
      return [];
    }
  });
}

/** A VPN user's state in this configuration: a disabled or removed user's certificates are refused. */
export function userStateFrom(config: PosternConfig): (user: string) => UserState {
  const users = new Map(config.users.map((u) => [u.name, u.enabled]));
  return (user) => {
    const enabled = users.get(user);
    return enabled === undefined ? 'absent' : enabled ? 'enabled' : 'disabled';
  };
}

/**
 * The revocation checker a subsystem runs with (issue 16): Postern's CA from its own list under
 * `certificates.revocation` (hard by default: the list is always at hand), each trusted CA under
 * its own policy (soft by default), any other CA (public roots an SSTP gateway chains to) soft.
 * A certificate issued to a VPN user is refused while that user is disabled or gone.
 */
export function revocationFromConfig(config: PosternConfig, ownCaPem: string, stateDir: string, log: Logger, onChange?: () => void): RevocationService {
  return new RevocationService({
    log,
    own: { ca: new X509Certificate(ownCaPem), stateDir, policy: config.certificates.revocation ?? 'hard' },
    userState: userStateFrom(config),
    trusted: trustedCas(config, log),
    otherPolicy: 'soft',
    ...(onChange ? { onChange } : {}),
  });
}
