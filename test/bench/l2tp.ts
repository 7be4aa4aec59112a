// L2TP/IPsec benchmark (issue 20): one TCP flow lanA → lanB through an L2TP/IPsec site between two
// `postern run` gateways (gwA dials gwB's LNS: IKEv1 transport mode AES-GCM, then L2TP and PPP;
// gwB carries the call's IP in its driver, gwA's dialing side still through JavaScript), and the same
// flow through an IKEv2 site Postern ↔ Postern on the same topology in the same run, with the ratio.
// Prints `bench l2tp …` lines.
import { startPostern } from '../helpers/postern-daemon.ts';
import { answeringL2tpGateway, dialingL2tpGateway } from '../lab/l2tp-site-configs.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { besideIkev2Site } from './ikev2-site-beside.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const PASSWORD = 'Bench-L2tp-Pass-42';
const PSK = 'bench-l2tp-group-key-77';
const LAN_B = { host: 'lanB', address: '10.2.0.10' };

const answering = () => answeringL2tpGateway({ wan: { interface: 'wan', mode: 'static', address: '192.0.2.2/24' }, lanInterface: 'lanb', branchAddress: '192.0.2.1', psk: PSK, password: PASSWORD });
const dialing = () => dialingL2tpGateway({ wan: { interface: 'wan', mode: 'static', address: '192.0.2.1/24' }, hqAddress: '192.0.2.2', psk: PSK, password: PASSWORD });

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
