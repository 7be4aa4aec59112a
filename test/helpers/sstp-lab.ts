// The pieces SSTP interop tests share: `postern run` as the gateway in the VM lab's namespace, and
// the guest's shell functions that dial with sstpc (and pppd options of the test's choosing) and hang up.
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { VM_CLIENT } from '../lab/scenarios.ts';
import type { Lab } from '../lab/topology.ts';
import { startPostern } from './postern-daemon.ts';
import { storedUser } from '../../firmware/config/users.ts';

/**
 * Guest shell functions: `dial USER PASSWORD N [PPPD-OPTIONS]` (bounded wait for ppp0's address) and `hangup`.
 * `SSTP_SERVER` names another server than gw's IPv4 address (sstpc 1.0.18 splits its argument at the
 * first ':', so an IPv6 server is named by a host name from the guest's /etc/hosts, never a literal).
 */
export function sstpcDialScript(pppdOptions = ''): string {
  return `dial() {
  sstpc --cert-warn --log-level 3 --log-stderr --user "$1" --password "$2" "\${SSTP_SERVER:-${VM_CLIENT.gateway}}" \\
    require-mschap-v2 refuse-eap refuse-pap refuse-chap noauth nodefaultroute usepeerdns nodetach ${pppdOptions} $4 > /tmp/sstpc-$3.log 2>&1 &
  echo $! > /tmp/sstpc.pid
  for _ in $(seq 150); do
    if ip -4 addr show ppp0 2>/dev/null | grep -q inet; then ip -4 addr show ppp0 | grep inet; return 0; fi
    if ! kill -0 "$(cat /tmp/sstpc.pid)" 2>/dev/null; then echo "sstpc exited"; tail -20 /tmp/sstpc-$3.log; return 1; fi
    sleep 0.2
  done
  echo "no address on ppp0 in 30 s"; tail -20 /tmp/sstpc-$3.log; return 1
}
hangup() {
  kill "$(cat /tmp/sstpc.pid)"
  for _ in $(seq 50); do kill -0 "$(cat /tmp/sstpc.pid)" 2>/dev/null || return 0; sleep 0.2; done
  echo "sstpc did not exit"; return 1
}
export -f dial hangup
`;
}

/**
 * Starts Postern in the VM lab's gateway namespace with SSTP on, user alice, pool 10.10.0.0/24 (DNS
 * 10.2.0.53) and LAN 10.2.0.1/24; `adjust` changes the config first. Resolves once SSTP listens.
 */
export async function startSstpGateway(lab: Lab, password: string, adjust: (config: PosternConfig) => void = () => {}): Promise<{ log: () => string }> {
  const config = defaultConfig();
  config.system.wan = { interface: 'tap-vm', mode: 'dhcp' }; // SSTP then listens on every address of the namespace
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [storedUser({ name: 'alice', password, enabled: true })];
  config.certificates.server = { commonName: VM_CLIENT.gateway, sans: [VM_CLIENT.gateway] };
  config.listeners.ikev2.enabled = false;
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: ['10.2.0.53'] }];
  adjust(config);
  return startPostern(lab, VM_CLIENT.host, config, (log) => log.includes('SSTP listening'));
}

/**
 * `postern run` as gwB of the two-site lab (twoSitesDirect) answering SSTP on 192.0.2.2: its
 * certificate for that address, pool 10.64.0.0/16, IKEv2 off, and `users` users `<prefix>0`...
 * with one password (the SSTP benchmark's load, or a test's dialer).
 */
export function directSstpGatewayConfig(users: number, prefix: string, password: string): PosternConfig {
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.listeners.ikev2.enabled = false;
  config.certificates.server = { commonName: '192.0.2.2', sans: ['192.0.2.2'] };
  config.pools = [{ name: 'clients', ipv4: '10.64.0.0/16', dns: [] }];
  config.users = Array.from({ length: users }, (_, i) => storedUser({ name: `${prefix}${i}`, password, enabled: true }));
  return config;
}
