// The PPTP calls benchmark's server (issue 22): PPTP on (MS-CHAPv2, MPPE-128 stateless as Windows
// does), one user per client, a pool big enough for all, every other listener off.
import type { PosternConfig } from '../../firmware/config/types.ts';
import { callsServerConfig } from './l2tp-sessions-plan.ts';

export function pptpServerConfig(o: { calls: number; password: string; wan: string; lan: string }): PosternConfig {
  const c = callsServerConfig(o);
  c.listeners.pptp = { ...c.listeners.pptp, enabled: true, pool: 'clients' };
  return c;
}
