// SSTP benchmark: `postern run` as the gateway in the lab, Postern's own SSTP client as load.
// 1) one call's TCP throughput (iperf3 through SSTP into the LAN) beside plain veth and beside IKEv2
//    (Postern ↔ Postern, AES-GCM-128, the responder on the same shared TUN) on the same topology;
// 2) how many concurrent calls Postern holds and its memory per call. Prints `bench sstp …` lines.
// BENCH_SSTP_DATAPATH=javascript measures the gateway on Node's TLS (issue 23's before);
// BENCH_SSTP_CLIENT_DATAPATH=javascript the load client (Postern's dialer) on Node's TLS and its IP in JavaScript.
// BENCH_SSTP_ONLY=memory runs the calls phase alone; BENCH_SSTP_BREAKDOWN=1 adds where a call's memory is
// (JavaScript heap after a full collection; each RSS reading is taken before its collection), and
// BENCH_SSTP_HEAPSNAPSHOT=<dir> writes a heap snapshot of the gateway there before and after the calls.
// The growth is also split by region (rss-regions.ts: V8's pages, the main malloc arena, the rest).
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigStore } from '../../firmware/config/store.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { directSstpGatewayConfig } from '../helpers/sstp-lab.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { besideIkev2Site } from './ikev2-site-beside.ts';
import { cpuSecondsOfStat } from './l2tp-sessions-plan.ts';
import { regionsPerCall, rssRegions } from './rss-regions.ts';

const COUNT = Number(process.env['BENCH_SSTP_COUNT'] ?? 2000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 30);
const WARM_UP = Math.min(20, Math.floor(COUNT / 10));
const PASSWORD = 'Bench-Pass-0123';
/** Issue 23: the gateway's data path (listeners.sstp.dataPath): the driver's TLS and IP (default), or Node's TLS and JavaScript. */
const DATA_PATH = process.env['BENCH_SSTP_DATAPATH'] === 'javascript' ? 'javascript' : 'native';
/** The load client's (Postern's SSTP dialer): its TLS and the measured call's IP in the driver (default), or Node's TLS and JavaScript. */
const CLIENT_PATH = process.env['BENCH_SSTP_CLIENT_DATAPATH'] === 'javascript' ? 'javascript' : 'native';
const ONLY_MEMORY = process.env['BENCH_SSTP_ONLY'] === 'memory';
const BREAKDOWN = process.env['BENCH_SSTP_BREAKDOWN'] === '1';
const SNAPSHOTS = process.env['BENCH_SSTP_HEAPSNAPSHOT'];
/** CPU seconds the gateway used so far (what a call costs, apart from how busy the shared machine is). */
const cpuOf = (pid: number): number => cpuSecondsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) ?? NaN;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** The gateway's JavaScript heap after a full collection (memory-probe.mjs, with BENCH_SSTP_BREAKDOWN). */
async function heapOf(pid: number, probe: string): Promise<NodeJS.MemoryUsage> {
  rmSync(probe, { force: true });
  process.kill(pid, 'SIGUSR2');
  await waitUntil('the gateway reports its memory', 60_000, () => existsSync(probe));
  return JSON.parse(readFileSync(probe, 'utf8')) as NodeJS.MemoryUsage;
}

/** The gateway's RSS once it stops moving (five readings a second apart within 256 KB; 30 s at most). */
async function settledRss(pid: number): Promise<{ rss: number; seconds: number }> {
  const readings: number[] = [];
  for (let i = 0; i < 30; i++) {
    readings.push(rssOf(pid));
    const last = readings.slice(-5);
    if (last.length === 5 && Math.max(...last) - Math.min(...last) < 256 * 1024) return { rss: last[4]!, seconds: i };
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { rss: readings[readings.length - 1]!, seconds: 30 };
}

/** A heap snapshot of the gateway (BENCH_SSTP_HEAPSNAPSHOT): written by node on SIGPWR, waited for until its size settles. */
async function snapshot(pid: number, dir: string, label: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGPWR');
  let size = -1;
  await waitUntil('the heap snapshot is written', 300_000, () => {
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!file) return false;
    const now = statSync(join(dir, file)).size;
    const settled = now > 0 && now === size;
    size = now;
    if (settled) renameSync(join(dir, file), join(dir, `sstp-${label}.heapsnapshot`));
    return settled;
  });
}

/**
 * How the gateway runs: the calls phase measures the bundle the firmware ships (dist/postern.js, built
 * by `make bench`); through tsx (BENCH_SSTP_GATEWAY=tsx, and the throughput phases) every closure also
 * carries the name esbuild's keepNames gives it (7.5 KB more live heap per call, measured).
 */
const BUNDLE = resolve('dist/postern.js');
function gatewayEntry(bundle: boolean): string[] {
  if (!bundle) return ['--import', 'tsx', resolve('firmware/main.ts')];
  if (!existsSync(BUNDLE)) throw new Error('dist/postern.js is missing: `make build` (or BENCH_SSTP_GATEWAY=tsx)');
  return [BUNDLE];
}

async function gateway(lab: Lab, users: number, bundle = false) {
  const state = lab.subdir('postern-state');
  const config = directSstpGatewayConfig(users, 'load', PASSWORD);
  config.listeners.sstp.dataPath = DATA_PATH;
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(config, { author: 'bench' });
  const probe = join(state, 'memory.json');
  const diagnostics = [...(process.env['BENCH_SSTP_GATEWAY_FLAGS']?.split(' ').filter((f) => f !== '') ?? []), ...(BREAKDOWN ? ['--expose-gc', '--import', resolve('test/bench/memory-probe.mjs')] : []), ...(SNAPSHOTS ? ['--heapsnapshot-signal=SIGPWR', `--diagnostic-dir=${SNAPSHOTS}`] : [])];
  const daemon = lab.spawnDaemon('gwB', 'postern', [process.execPath, ...diagnostics, ...gatewayEntry(bundle), 'run', '--state', state, '--log-level', 'warn'], cleanEnv(BREAKDOWN ? { POSTERN_MEMORY_PROBE: probe } : {}));
  await waitUntil('Postern listens for SSTP', 30_000, () => existsSync(join(state, 'pki', 'ca.pem')) && lab.execSync('gwB', ['ss', '-ltn']).includes(':443'));
  return { daemon, probe, ca: readFileSync(join(state, 'pki', 'ca.pem'), 'utf8') };
}

/** The load peer on gwA; each call of the function it gives dials the next `n` of its `count` users. */
async function loadPeer(lab: Lab, ca: string, count: number, tun?: { name: string; route: string }) {
  const { peer } = await LinePeer.spawn(lab, 'gwA', `sstp-load-${count}`, '../../bench/sstp-load-peer.ts', { host: '192.0.2.2', port: 443, servername: '192.0.2.2', ca, count, concurrency: 16, userPrefix: 'load', password: PASSWORD, dataPath: CLIENT_PATH, ...(tun ? { tun } : {}) });
  return async (n: number) => {
    peer.daemon.child.stdin!.write(`go ${n}\n`);
    const line = await peer.next(Math.max(120_000, n * 100));
    return JSON.parse(line.replace(/^result /, '')) as { up: number; failed: number; seconds: number; perSecond: number; errors: Record<string, number> };
  };
}

if (!ONLY_MEMORY) {
  const lab = Lab.create(twoSitesDirect);
  try {
    const { ca } = await gateway(lab, 1);
    const veth = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'gwB', { seconds: Math.min(SECONDS, 10) });
    const r = await (await loadPeer(lab, ca, 1, { name: 'sstpc0', route: '10.2.0.0/24' }))(1);
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
if (!ONLY_MEMORY) await besideIkev2Site(async (lab) => {
  const one = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: SECONDS });
  const four = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA', { seconds: SECONDS, streams: 4 });
  console.log(`bench sstp beside ikev2 1-flow ${one.mbitPerSecond.toFixed(0)} Mbit/s 4-flows ${four.mbitPerSecond.toFixed(0)} Mbit/s`);
});
{
  const lab = Lab.create(twoSitesDirect);
  try {
    const { daemon, probe, ca } = await gateway(lab, COUNT, process.env['BENCH_SSTP_GATEWAY'] !== 'tsx');
    // As the L2TP and PPTP calls benches: a warm-up batch first, so the baseline holds what the first
    // calls allocate once (compiled code, the engine thread's arena, OpenSSL's per-thread state).
    const batch = await loadPeer(lab, ca, COUNT);
    const warm = await batch(WARM_UP);
    await new Promise((r) => setTimeout(r, 2000));
    const before = rssOf(daemon.pid);
    const regionsBefore = rssRegions(readFileSync(`/proc/${daemon.pid}/smaps`, 'utf8'));
    const cpuBefore = cpuOf(daemon.pid);
    const heapBefore = BREAKDOWN ? await heapOf(daemon.pid, probe) : undefined;
    if (SNAPSHOTS) await snapshot(daemon.pid, SNAPSHOTS, 'before');
    const rest = await batch(COUNT - WARM_UP);
    const r = { up: warm.up + rest.up, failed: warm.failed + rest.failed, seconds: warm.seconds + rest.seconds, perSecond: (warm.up + rest.up) / (warm.seconds + rest.seconds), errors: { ...warm.errors, ...rest.errors } };
    await new Promise((r) => setTimeout(r, 3000));
    const after = rssOf(daemon.pid);
    const regionsAfter = rssRegions(readFileSync(`/proc/${daemon.pid}/smaps`, 'utf8'));
    const cpuMs = ((cpuOf(daemon.pid) - cpuBefore) * 1000) / Math.max(1, rest.up);
    if (heapBefore) {
      // Without a collection forced: how much of the growth was garbage V8 and the allocators gave back on their own (30 s at most).
      const settled = await settledRss(daemon.pid);
      console.log(`bench sstp memory settled ${((settled.rss - before) / 1024 / Math.max(1, rest.up)).toFixed(1)} KB per call after ${settled.seconds} s idle`);
      const heapAfter = await heapOf(daemon.pid, probe);
      const kb = (key: 'heapUsed' | 'heapTotal' | 'external' | 'arrayBuffers') => ((heapAfter[key] - heapBefore[key]) / 1024 / Math.max(1, rest.up)).toFixed(1);
      console.log(`bench sstp memory breakdown per call: JavaScript heap ${kb('heapUsed')} KB (live, after a full collection; V8's heap grew by ${kb('heapTotal')} KB), external ${kb('external')} KB (array buffers ${kb('arrayBuffers')} KB); gateway RSS after the collection ${(heapAfter.rss / 1048576).toFixed(0)} MiB, V8's young generation ${((heapAfter as { newSpace?: number }).newSpace ?? 0) / 1048576} MiB`);
    }
    if (SNAPSHOTS) await snapshot(daemon.pid, SNAPSHOTS, 'after');
    console.log(`bench sstp calls ${r.up} up ${r.failed} failed in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(0)}/s) ${JSON.stringify(r.errors)}; gateway CPU ${cpuMs.toFixed(1)} ms per call`);
    console.log(`bench sstp memory by region per call: ${regionsPerCall(regionsBefore, regionsAfter, rest.up)}`);
    console.log(`bench sstp memory ${((after - before) / 1024 / Math.max(1, rest.up)).toFixed(1)} KB per call over the ${rest.up} after the first ${warm.up} (gateway RSS ${(before / 1048576).toFixed(0)} → ${(after / 1048576).toFixed(0)} MiB, data path ${DATA_PATH}, gateway ${process.env['BENCH_SSTP_GATEWAY'] === 'tsx' ? 'through tsx' : 'dist/postern.js'}; load ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  } finally {
    lab.teardown();
  }
}
