// PPTP benchmark (issue 22): one TCP flow lanA → lanB through a PPTP site between two `postern run`
// gateways (gwA dials gwB: MS-CHAPv2, MPPE-128 stateless, enhanced GRE), and the same flow through an
// IKEv2 site Postern ↔ Postern on the same topology in the same run, with the ratio (target: at
// least half). Prints `bench pptp …` lines.
import { startPostern } from '../helpers/postern-daemon.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { answeringPptpGateway, dialingPptpGateway } from '../lab/pptp-site-configs.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { besideIkev2Site } from './ikev2-site-beside.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const PASSWORD = 'Bench-Pptp-Pass-42';
const LAN_B = { host: 'lanB', address: '10.2.0.10' };

let pptp = NaN;
{
  const lab = Lab.create(twoSitesDirect);
  try {
    await startPostern(lab, 'gwB', answeringPptpGateway(PASSWORD), (log) => log.includes('PPTP listening'), { name: 'postern-hq' });
    await startPostern(lab, 'gwA', dialingPptpGateway(PASSWORD), (log) => log.includes('"msg":"PPTP site up"'), { name: 'postern-branch' });
    await waitUntil('the call carries traffic', 20_000, async () => (await lab.exec('lanA', ['ping', '-c', '1', '-W', '1', '10.2.0.10'])).code === 0);
    pptp = (await iperf3(lab, LAN_B, 'lanA', { seconds: SECONDS })).mbitPerSecond;
    const health = (await lab.exec('gwB', ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
    const counter = (name: string) => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(health)?.[1] ?? -1);
    console.log(`bench pptp throughput 1-flow ${pptp.toFixed(0)} Mbit/s (answering side: ${counter('pptp.gre.rx')} GRE packets in, ${counter('pptp.gre.framesUp')} PPP frames up to JavaScript; its driver data path: ${counter('pptp.dataPath.sessions')} call, ${counter('pptp.dataPath.packetsIn')} packets in, ${counter('pptp.gre.mppeLate')} MPPE late, ${counter('pptp.javascriptPackets')} through JavaScript)`);
  } finally {
    lab.teardown();
  }
}
const ikev2 = await besideIkev2Site(async (lab) => (await iperf3(lab, LAN_B, 'lanA', { seconds: SECONDS })).mbitPerSecond);
console.log(`bench pptp beside ikev2 1-flow ${ikev2.toFixed(0)} Mbit/s`);
console.log(`bench pptp ratio ${(pptp / ikev2).toFixed(2)} of IKEv2 (target: at least 0.5)`);
