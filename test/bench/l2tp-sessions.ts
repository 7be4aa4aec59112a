// L2TP/IPsec sessions benchmark (issue 20): BENCH_L2TP_SESSIONS (1,000) concurrent L2TP/IPsec calls
// against one `postern run` LNS, from Postern's own client as load (l2tp-load-peer.ts: each call
// IKEv1 Main Mode + Quick Mode transport SA in the driver's userspace data plane, L2TP tunnel and
// session, PPP with MS-CHAPv2 and IPCP, from its own address). Measures the time to set them all up
// and the LNS's memory before and after (RSS and JavaScript heap per session), and proves every call
// carries IP: one ICMP echo through each to the LNS's LAN address, answered by the LNS's kernel
// through its driver's PPP data path. Prints `bench l2tp-sessions …` lines.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigStore } from '../../firmware/config/store.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { CLIENT_PREFIX, clientAddress, lnsConfig, perSessionKb } from './l2tp-sessions-plan.ts';

const SESSIONS = Number(process.env['BENCH_L2TP_SESSIONS'] ?? 1000);
const CONCURRENCY = Number(process.env['BENCH_L2TP_CONCURRENCY'] ?? 16);
const WARM_UP = Math.min(20, Math.floor(SESSIONS / 10));
const PSK = 'bench-l2tp-load-key-31';
const PASSWORD = 'Bench-L2tp-Load-9';
const LNS = '192.0.2.2';
const LAN = '10.2.0.1';

/** The LNS's memory after a full collection, read until two readings a second apart agree within 1 MiB (5 at most). */
async function memory(pid: number, file: string): Promise<NodeJS.MemoryUsage> {
  let last: NodeJS.MemoryUsage | undefined;
  for (let i = 0; i < 5; i++) {
    rmSync(file, { force: true });
    process.kill(pid, 'SIGUSR2');
    await waitUntil('the LNS reports its memory', 10_000, () => existsSync(file));
    const m = JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
    if (last && Math.abs(m.rss - last.rss) < 1 << 20) return m;
    last = m;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last!;
}

const health = async (lab: Lab) => (await lab.exec('gwB', ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
const counter = (text: string, name: string) => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(text)?.[1] ?? -1);

const lab = Lab.create(twoSitesDirect);
try {
  // The clients' addresses on gwA's WAN, routed from the LNS.
  const addresses = join(lab.subdir('addresses'), 'ip-batch');
  writeFileSync(addresses, Array.from({ length: SESSIONS }, (_, i) => `address add ${clientAddress(i)}/32 dev wan\n`).join(''));
  lab.execSync('gwA', ['ip', '-batch', addresses]);
  lab.execSync('gwB', ['ip', 'route', 'add', CLIENT_PREFIX, 'via', '192.0.2.1']);

  const state = lab.subdir('postern-state');
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(lnsConfig({ sessions: SESSIONS, psk: PSK, password: PASSWORD, wan: `${LNS}/24`, lan: `${LAN}/24` }), { author: 'bench' });
  const probe = join(state, 'memory.json');
  const daemon = lab.spawnDaemon('gwB', 'postern-lns', [process.execPath, '--expose-gc', '--import', 'tsx', '--import', resolve('test/bench/memory-probe.mjs'), resolve('firmware/main.ts'), 'run', '--state', state, '--log-level', 'warn'], cleanEnv({ POSTERN_MEMORY_PROBE: probe }));
  await waitUntil('the LNS runs L2TP/IPsec', 60_000, async () => /"l2tp\.sessions":0/.test(await health(lab)) && lab.execSync('gwB', ['ss', '-lun']).includes(`${LNS}:500`));
  const { peer } = await LinePeer.spawn(lab, 'gwA', 'l2tp-load', '../../bench/l2tp-load-peer.ts', { target: LNS, count: SESSIONS, concurrency: CONCURRENCY, psk: PSK, password: PASSWORD });
  const batch = async (count: number) => {
    peer.daemon.child.stdin!.write(`go ${count}\n`);
    const line = await peer.next(Math.max(180_000, count * 1000)).catch((e: Error) => {
      throw new Error(`${e.message}; load log:\n${readFileSync(peer.daemon.logFile, 'utf8').slice(-3000)}`);
    });
    return JSON.parse(line.replace(/^result /, '')) as { up: number; failed: number; seconds: number; errors: Record<string, number> };
  };
  // A few calls first, so the baseline holds what the first call allocates once (driver hub and
  // threads, lazily compiled code, start-up garbage returned to the system): the memory figures are
  // the cost of each further session.
  const warm = await batch(WARM_UP);
  const before = await memory(daemon.pid, probe);
  const rest = await batch(SESSIONS - WARM_UP);
  const after = await memory(daemon.pid, probe);
  const r = { up: warm.up + rest.up, failed: warm.failed + rest.failed, seconds: warm.seconds + rest.seconds, errors: { ...warm.errors, ...rest.errors } };
  const pinged = JSON.parse((await peer.command(`ping ${LAN}`, 60_000)).replace(/^pinged /, '')) as { calls: number; answered: number };
  const h = await health(lab);
  const kb = perSessionKb(before, after, rest.up);
  console.log(`bench l2tp-sessions setup ${r.up} of ${SESSIONS} up, ${r.failed} failed in ${r.seconds.toFixed(1)} s (${(r.up / r.seconds).toFixed(1)}/s, ${CONCURRENCY} at a time) ${JSON.stringify(r.errors)}`);
  console.log(`bench l2tp-sessions traffic ${pinged.answered} of ${pinged.calls} calls answered an ICMP echo to ${LAN}; LNS: ${counter(h, 'l2tp.sessions')} sessions, ${counter(h, 'l2tp.dataPath.sessions')} in the driver's PPP data path (${counter(h, 'l2tp.dataPath.packetsIn')} packets in, ${counter(h, 'l2tp.dataPath.packetsOut')} out), ${counter(h, 'l2tp.javascriptPackets')} through JavaScript`);
  console.log(`bench l2tp-sessions memory ${kb.rss.toFixed(1)} KB RSS per session over the ${rest.up} after the first ${warm.up} (${(before.rss / 1048576).toFixed(0)} → ${(after.rss / 1048576).toFixed(0)} MiB); JavaScript heap ${kb.heap.toFixed(1)} KB (${(before.heapUsed / 1048576).toFixed(0)} → ${(after.heapUsed / 1048576).toFixed(0)} MiB), external ${kb.external.toFixed(1)} KB, outside the heap (driver, OpenSSL, libuv) ${kb.outsideHeap.toFixed(1)} KB`);
  if (r.up === 0 || pinged.answered !== r.up) process.exitCode = 1;
} finally {
  lab.teardown();
}
