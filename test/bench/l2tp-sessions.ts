// L2TP/IPsec sessions benchmark (issue 20): BENCH_L2TP_SESSIONS (1,000) concurrent L2TP/IPsec calls
// against one `postern run` LNS, from Postern's own client as load (l2tp-load-peer.ts: each call
// IKEv1 Main Mode + Quick Mode transport SA in the driver's userspace data plane, L2TP tunnel and
// session, PPP with MS-CHAPv2 and IPCP, from its own address); the LNS answers each call's echo
// through its driver's PPP data path. The run and its figures: calls-bench.ts.
import { counter, runCallsBench, SERVER, SERVER_LAN } from './calls-bench.ts';
import { lnsConfig } from './l2tp-sessions-plan.ts';

const SESSIONS = Number(process.env['BENCH_L2TP_SESSIONS'] ?? 1000);
const PSK = 'bench-l2tp-load-key-31';
const PASSWORD = 'Bench-L2tp-Load-9';

await runCallsBench({
  name: 'l2tp-sessions', calls: SESSIONS, concurrency: Number(process.env['BENCH_L2TP_CONCURRENCY'] ?? 16),
  config: lnsConfig({ sessions: SESSIONS, psk: PSK, password: PASSWORD, wan: `${SERVER}/24`, lan: `${SERVER_LAN}/24` }),
  ready: (health, sockets) => /"l2tp\.sessions":0/.test(health) && sockets.includes(`${SERVER}:500`),
  peer: '../../bench/l2tp-load-peer.ts', peerConfig: { psk: PSK, password: PASSWORD },
  dataPath: (h) => `${counter(h, 'l2tp.sessions')} sessions, ${counter(h, 'l2tp.dataPath.sessions')} in the driver's PPP data path (${counter(h, 'l2tp.dataPath.packetsIn')} packets in, ${counter(h, 'l2tp.dataPath.packetsOut')} out), ${counter(h, 'l2tp.javascriptPackets')} through JavaScript`,
});
