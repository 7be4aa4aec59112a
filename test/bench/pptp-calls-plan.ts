// The PPTP calls benchmark's server (issue 22): PPTP on (MS-CHAPv2, MPPE-128 stateless as Windows
// does), one user per client, a pool big enough for all, every other listener off.
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { userName } from './l2tp-sessions-plan.ts';

export function pptpServerConfig(o: { calls: number; password: string; wan: string; lan: string }): PosternConfig {
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: o.wan };
  c.system.lan = { interface: 'lanb', address: o.lan };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.pools = [{ name: 'clients', ipv4: '10.64.0.0/16', dns: [] }];
  c.listeners.pptp = { ...c.listeners.pptp, enabled: true, pool: 'clients' };
  c.users = Array.from({ length: o.calls }, (_, i) => storedUser({ name: userName(i), password: o.password, enabled: true }));
  return c;
}
