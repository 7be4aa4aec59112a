// The two gateways of an L2TP/IPsec site (issue 20), as the lab test and the benchmark run them: gwB
// answers with its L2TP listener and the branch's user, gwA dials it with the group PSK. Plain IKE and
// SSTP are off so only the L2TP path carries lanA ⇄ lanB (10.1.0.0/24 ⇄ 10.2.0.0/24).
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { storedUser } from '../../firmware/config/users.ts';

function gateway(wan: PosternConfig['system']['wan'], lan: PosternConfig['system']['lan']): PosternConfig {
  const c = defaultConfig();
  c.system.wan = wan;
  c.system.lan = lan;
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  return c;
}

/** gwB: the LNS, with the user `branch-a` and an answering site for the branch at `branchAddress`. */
export function answeringL2tpGateway(o: { wan: PosternConfig['system']['wan']; lanInterface: string; branchAddress: string; psk: string; password: string }): PosternConfig {
  const c = gateway(o.wan, { interface: o.lanInterface, address: '10.2.0.1/24' });
  c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, psk: o.psk };
  c.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }];
  c.users = [storedUser({ name: 'branch-a', password: o.password, enabled: true })];
  c.sites = [{ name: 'branch-a', protocol: 'l2tp', remote: o.branchAddress, username: 'branch-a', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', initiate: false, enabled: true }];
  return c;
}

/** gwA: dials the site `hq` at `hqAddress` as `branch-a`. */
export function dialingL2tpGateway(o: { wan: PosternConfig['system']['wan']; hqAddress: string; psk: string; password: string }): PosternConfig {
  const c = gateway(o.wan, { interface: 'lan', address: '10.1.0.1/24' });
  c.sites = [{ name: 'hq', protocol: 'l2tp', remote: o.hqAddress, psk: o.psk, username: 'branch-a', password: o.password, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true }];
  return c;
}
