// L2TP/IPsec benchmark (issue 20): one TCP flow lanA → lanB through an L2TP/IPsec site between two
// `postern run` gateways (gwA dials gwB's LNS: IKEv1 transport mode AES-GCM, then L2TP and PPP;
// gwB carries the call's IP in its driver, gwA's dialing side still through JavaScript), and the same
// flow through an IKEv2 site Postern ↔ Postern on the same topology in the same run, with the ratio.
// Prints `bench l2tp …` lines.
import { storedUser } from '../../firmware/config/users.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { besideIkev2Site } from './ikev2-site-beside.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const PASSWORD = 'Bench-L2tp-Pass-42';
const PSK = 'bench-l2tp-group-key-77';
const LAN_B = { host: 'lanB', address: '10.2.0.10' };

function answering() {
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  c.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, psk: PSK };
  c.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }];
  c.users = [storedUser({ name: 'branch-a', password: PASSWORD, enabled: true })];
  c.sites = [{ name: 'branch-a', protocol: 'l2tp', remote: '192.0.2.1', username: 'branch-a', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', initiate: false, enabled: true }];
  return c;
}

function dialing() {
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.1/24' };
  c.system.lan = { interface: 'lan', address: '10.1.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.sites = [{ name: 'hq', protocol: 'l2tp', remote: '192.0.2.2', psk: PSK, username: 'branch-a', password: PASSWORD, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true }];
  return c;
}

let l2tp = NaN;
let ikev2 = NaN;
{
  const lab = Lab.create(twoSitesDirect);
  try {
    await startPostern(lab, 'gwB', answering(), (log) => log.includes('L2TP listening') && log.includes('IKEv1 listening'), { name: 'postern-hq' });
    await startPostern(lab, 'gwA', dialing(), (log) => log.includes('"msg":"L2TP site up"'), { name: 'postern-branch' });
    await waitUntil('the call carries traffic', 20_000, async () => (await lab.exec('lanA', ['ping', '-c', '1', '-W', '1', '10.2.0.10'])).code === 0);
    l2tp = (await iperf3(lab, LAN_B, 'lanA', { seconds: SECONDS })).mbitPerSecond;
    const health = (await lab.exec('gwB', ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
    const counter = (name: string) => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(health)?.[1] ?? -1);
    console.log(`bench l2tp throughput 1-flow ${l2tp.toFixed(0)} Mbit/s (LNS driver data path: ${counter('l2tp.dataPath.sessions')} session, ${counter('l2tp.dataPath.packetsIn')} packets in, ${counter('l2tp.javascriptPackets')} through JavaScript)`);
  } finally {
    lab.teardown();
  }
}
// IKEv2 beside it: same namespaces, same LAN hosts (bench/ikev2-site-beside.ts).
ikev2 = await besideIkev2Site(async (lab) => (await iperf3(lab, LAN_B, 'lanA', { seconds: SECONDS })).mbitPerSecond);
console.log(`bench l2tp beside ikev2 1-flow ${ikev2.toFixed(0)} Mbit/s`);
console.log(`bench l2tp ratio ${(l2tp / ikev2).toFixed(2)} of IKEv2 (target: at least 0.5)`);
