// SSTP benchmark: `postern run` as the gateway in the lab, Postern's own SSTP client as load.
// 1) one call's TCP throughput (iperf3 through SSTP into the LAN) beside plain veth and beside IKEv2
//    (Postern ↔ Postern, AES-GCM-128, the responder on the same shared TUN) on the same topology;
// 2) how many concurrent calls Postern holds and its memory per call. Prints `bench sstp …` lines.
// BENCH_SSTP_DATAPATH=javascript measures the gateway on Node's TLS (issue 23's before);
// BENCH_SSTP_CLIENT_DATAPATH=javascript the load client (Postern's dialer) on Node's TLS and its IP in JavaScript.
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigStore } from '../../firmware/config/store.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { besideIkev2Site } from './ikev2-site-beside.ts';

const COUNT = Number(process.env['BENCH_SSTP_COUNT'] ?? 2000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const PASSWORD = 'Bench-Pass-0123';
/** Issue 23: the gateway's data path (listeners.sstp.dataPath): the driver's TLS and IP (default), or Node's TLS and JavaScript. */
const DATA_PATH = process.env['BENCH_SSTP_DATAPATH'] === 'javascript' ? 'javascript' : 'native';
/** The load client's (Postern's SSTP dialer): its TLS and the measured call's IP in the driver (default), or Node's TLS and JavaScript. */
const CLIENT_PATH = process.env['BENCH_SSTP_CLIENT_DATAPATH'] === 'javascript' ? 'javascript' : 'native';
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

async function gateway(lab: Lab, users: number) {
  const state = lab.subdir('postern-state');
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.listeners.ikev2.enabled = false;
  config.listeners.sstp.dataPath = DATA_PATH;
  config.certificates.server = { commonName: '192.0.2.2', sans: ['192.0.2.2'] };
  config.pools = [{ name: 'clients', ipv4: '10.64.0.0/16', dns: [] }];
  config.users = Array.from({ length: users }, (_, i) => storedUser({ name: `load${i}`, password: PASSWORD, enabled: true }));
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(config, { author: 'bench' });
  const daemon = lab.spawnDaemon('gwB', 'postern', [process.execPath, '--import', 'tsx', resolve('firmware/main.ts'), 'run', '--state', state, '--log-level', 'warn'], cleanEnv());
  await waitUntil('Postern listens for SSTP', 30_000, () => existsSync(join(state, 'pki', 'ca.pem')) && lab.execSync('gwB', ['ss', '-ltn']).includes(':443'));
  return { daemon, ca: readFileSync(join(state, 'pki', 'ca.pem'), 'utf8') };
}

async function load(lab: Lab, ca: string, count: number, tun?: { name: string; route: string }) {
  const { peer } = await LinePeer.spawn(lab, 'gwA', `sstp-load-${count}`, '../../bench/sstp-load-peer.ts', { host: '192.0.2.2', port: 443, servername: '192.0.2.2', ca, count, concurrency: 16, userPrefix: 'load', password: PASSWORD, dataPath: CLIENT_PATH, ...(tun ? { tun } : {}) });
  peer.daemon.child.stdin!.write('go\n');
  const line = await peer.next(Math.max(120_000, count * 100));
  return JSON.parse(line.replace(/^result /, '')) as { up: number; failed: number; seconds: number; perSecond: number; errors: Record<string, number> };
}

{
  const lab = Lab.create(twoSitesDirect);
  try {
    const { ca } = await gateway(lab, 1);
    const veth = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'gwB', { seconds: Math.min(SECONDS, 10) });
    const r = await load(lab, ca, 1, { name: 'sstpc0', route: '10.2.0.0/24' });
    if (r.up !== 1) throw new Error(`the SSTP call did not come up: ${JSON.stringify(r)}`);
    const one = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'gwA', { seconds: SECONDS });
    const four = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'gwA', { seconds: SECONDS, streams: 4 });
    console.log(`bench sstp throughput veth ${veth.mbitPerSecond.toFixed(0)} Mbit/s`);
    console.log(`bench sstp throughput 1-flow ${one.mbitPerSecond.toFixed(0)} Mbit/s 4-flows ${four.mbitPerSecond.toFixed(0)} Mbit/s (gateway data path ${DATA_PATH}; client data path ${CLIENT_PATH}, Postern's own dialer; load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  } finally {
    lab.teardown();
  }
}
// IKEv2 beside it: same namespaces, same gateway host, same LAN host (bench/ikev2-site-beside.ts).
await besideIkev2Site(async (lab) => {
  const one = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: SECONDS });
  const four = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: SECONDS, streams: 4 });
  console.log(`bench sstp beside ikev2 1-flow ${one.mbitPerSecond.toFixed(0)} Mbit/s 4-flows ${four.mbitPerSecond.toFixed(0)} Mbit/s`);
});
{
  const lab = Lab.create(twoSitesDirect);
  try {
    const { daemon, ca } = await gateway(lab, COUNT);
    await new Promise((r) => setTimeout(r, 2000));
    const before = rssOf(daemon.pid);
    const r = await load(lab, ca, COUNT);
    await new Promise((r) => setTimeout(r, 3000));
    const after = rssOf(daemon.pid);
    console.log(`bench sstp calls ${r.up} up ${r.failed} failed in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(0)}/s) ${JSON.stringify(r.errors)}`);
    console.log(`bench sstp memory ${((after - before) / 1024 / Math.max(1, r.up)).toFixed(1)} KB per call (gateway RSS ${(before / 1048576).toFixed(0)} → ${(after / 1048576).toFixed(0)} MiB, data path ${DATA_PATH})`);
  } finally {
    lab.teardown();
  }
}
