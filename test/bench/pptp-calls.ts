// PPTP calls benchmark (issue 22): BENCH_PPTP_CALLS (1,000) concurrent PPTP calls against one
// `postern run` with PPTP on, from Postern's own PPTP client as load (pptp-load-peer.ts: each call
// TCP 1723, an outgoing call, PPP with MS-CHAPv2, MPPE-128 and IPCP over enhanced GRE, from its own
// address). The run and its figures: calls-bench.ts.
import { counter, runCallsBench, SERVER, SERVER_LAN } from './calls-bench.ts';
import { pptpServerConfig } from './pptp-calls-plan.ts';

const CALLS = Number(process.env['BENCH_PPTP_CALLS'] ?? 1000);
const PASSWORD = 'Bench-Pptp-Load-9';

await runCallsBench({
  name: 'pptp-calls', calls: CALLS, concurrency: Number(process.env['BENCH_PPTP_CONCURRENCY'] ?? 16),
  config: pptpServerConfig({ calls: CALLS, password: PASSWORD, wan: `${SERVER}/24`, lan: `${SERVER_LAN}/24` }),
  ready: (health, sockets) => /"pptp\.sessions":0/.test(health) && sockets.includes(`${SERVER}:1723`),
  peer: '../../bench/pptp-load-peer.ts', peerConfig: { password: PASSWORD },
  dataPath: (h) => `${counter(h, 'pptp.sessions')} calls, ${counter(h, 'pptp.gre.rx')} GRE packets in, ${counter(h, 'pptp.gre.tx')} out, ${counter(h, 'pptp.gre.framesUp')} PPP frames up to JavaScript`,
});
