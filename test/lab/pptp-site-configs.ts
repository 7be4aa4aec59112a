// The two gateways of a PPTP site (issue 22) on the direct WAN link (twoSitesDirect: the lab's
// masquerade has no PPTP conntrack helper for enhanced GRE): gwB answers with its PPTP listener and
// the branch's user, gwA dials it. Plain IKE and SSTP are off, so only the PPTP call carries
// lanA ⇄ lanB (10.1.0.0/24 ⇄ 10.2.0.0/24).
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { storedUser } from '../../firmware/config/users.ts';

function gateway(wan: string, lan: PosternConfig['system']['lan']): PosternConfig {
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: wan };
  c.system.lan = lan;
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  return c;
}

/** gwB (192.0.2.2): PPTP on, the user `branch-a` and an answering site for the branch at 192.0.2.1. */
export function answeringPptpGateway(password: string): PosternConfig {
  const c = gateway('192.0.2.2/24', { interface: 'lanb', address: '10.2.0.1/24' });
  c.listeners.pptp = { ...c.listeners.pptp, enabled: true, pool: 'clients' };
  c.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }];
  c.users = [storedUser({ name: 'branch-a', password, enabled: true })];
  c.sites = [{ name: 'branch-a', protocol: 'pptp', remote: '192.0.2.1', username: 'branch-a', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', initiate: false, enabled: true }];
  return c;
}

/** gwA (192.0.2.1): dials the site `hq` at 192.0.2.2 as `branch-a`. */
export function dialingPptpGateway(password: string): PosternConfig {
  const c = gateway('192.0.2.1/24', { interface: 'lan', address: '10.1.0.1/24' });
  c.sites = [{ name: 'hq', protocol: 'pptp', remote: '192.0.2.2', username: 'branch-a', password, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true }];
  return c;
}
