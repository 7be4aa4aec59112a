// Churn soak (issue 15): `postern run` as the gateway while clients connect and disconnect over and
// over with traffic: BENCH_CHURN_IKE IKEv2 cycles (default 10,000; a LAN host sends to the pool all
// along, so child SAs carry ESP while they come and go) and BENCH_CHURN_SSTP SSTP calls (default
// 2,000; each pings the LAN through its tunnel). Resident memory, open descriptors, the data plane's
// SAs and policies and the shared TUN's routes are printed before, at their peak and after: after
// must return to the baseline. Prints `bench churn …` lines.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigStore } from '../../firmware/config/store.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';

const IKE_CYCLES = Number(process.env['BENCH_CHURN_IKE'] ?? 10_000);
const SSTP_CYCLES = Number(process.env['BENCH_CHURN_SSTP'] ?? 2000);
const PSK = 'churn-psk-0123456789abcdef';
const PASSWORD = 'Churn-Pass-0123';
const USERS = 64;
const SLOTS = 64;
const HEAP_MB = Number(process.env['BENCH_CHURN_HEAP_MB'] ?? 96);

interface Snapshot { rss: number; fds: number; sas: number; policies: number; routes: number; ikeSas: number; sstpCalls: number }

async function gateway(lab: Lab) {
  const state = lab.subdir('postern-state');
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.listeners.ikev2 = { ...config.listeners.ikev2, auth: 'psk', psk: PSK };
  config.certificates.server = { commonName: '192.0.2.2', sans: ['192.0.2.2'] };
  config.pools = [{ name: 'clients', ipv4: '10.64.0.0/16', dns: [] }];
  config.users = Array.from({ length: USERS }, (_, i) => storedUser({ name: `churn${i}`, password: PASSWORD, enabled: true }));
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(config, { author: 'bench' });
  // A small old space makes V8 collect instead of growing, so RSS that still climbs from round to round is a leak.
  const daemon = lab.spawnDaemon('gwB', 'postern', [process.execPath, `--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', resolve('firmware/main.ts'), 'run', '--state', state, '--log-level', 'warn'], cleanEnv());
  const log = () => (existsSync(daemon.logFile) ? readFileSync(daemon.logFile, 'utf8') : '');
  await waitUntil('Postern runs IKEv2 and SSTP', 30_000, async () => {
    const subsystems = (await health(lab)).subsystems ?? {};
    return subsystems['ikev2']?.state === 'running' && subsystems['sstp']?.state === 'running';
  }, () => log().slice(-3000));
  return { daemon, ca: readFileSync(join(state, 'pki', 'ca.pem'), 'utf8') };
}

type Health = { subsystems?: Record<string, { state?: string; counters?: Record<string, number> }> };
async function health(lab: Lab): Promise<Health> {
  const r = await lab.exec('gwB', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.text()).then((b) => process.stdout.write(b), () => {})"]);
  try {
    return JSON.parse(r.stdout || '{}') as Health;
  } catch {
    return {};
  }
}

async function snapshot(lab: Lab, pid: number): Promise<Snapshot> {
  const h = await health(lab);
  const ike = h.subsystems?.['ikev2']?.counters ?? {};
  const sstp = h.subsystems?.['sstp']?.counters ?? {};
  const routes = (await lab.exec('gwB', ['ip', '-o', 'route', 'show', 'table', 'all'])).stdout.split('\n').filter((l) => l.includes('postern0')).length;
  return {
    rss: Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    sas: ike['dataplane.sas'] ?? -1, policies: ike['dataplane.policies'] ?? -1, ikeSas: ike['ike.sas'] ?? -1,
    sstpCalls: sstp['callsNow'] ?? -1, routes,
  };
}

/** Samples while `work` runs and keeps each figure's maximum. */
async function peakDuring(lab: Lab, pid: number, work: Promise<unknown>): Promise<Snapshot> {
  const peak: Snapshot = { rss: 0, fds: 0, sas: 0, policies: 0, routes: 0, ikeSas: 0, sstpCalls: 0 };
  let finished = false;
  void work.finally(() => (finished = true));
  while (!finished) {
    const s = await snapshot(lab, pid).catch(() => undefined);
    if (s) for (const k of Object.keys(peak) as Array<keyof Snapshot>) peak[k] = Math.max(peak[k], s[k]);
    await new Promise((done) => setTimeout(done, 1000));
  }
  await work;
  return peak;
}

const MB = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
const line = (label: string, s: Snapshot) => `${label}: RSS ${MB(s.rss)}, ${s.fds} fds, ${s.ikeSas} IKE SAs, ${s.sas} data-plane SAs, ${s.policies} policies, ${s.sstpCalls} SSTP calls, ${s.routes} TUN routes`;

/** A load peer on gwA; when it dies before `ready`, its own output says why. */
async function spawnPeer(lab: Lab, name: string, script: string, config: unknown): Promise<{ peer: LinePeer }> {
  try {
    return await LinePeer.spawn(lab, 'gwA', name, script, config);
  } catch (error) {
    const logFile = join(lab.dir, `${name}.log`);
    throw new Error(`${(error as Error).message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
  }
}

const ROUNDS = Math.max(1, Number(process.env['BENCH_CHURN_ROUNDS'] ?? 2));

/** One round: a share of the IKEv2 cycles (with the LAN sending to the pool), then of the SSTP calls. */
async function round(lab: Lab, pid: number, ca: string, n: number, ikeCycles: number, sstpCycles: number): Promise<void> {
  const sender = lab.spawnDaemon('lanB', `pool-sender-${n}`, [process.execPath, '-e', `
    const s = require('node:dgram').createSocket('udp4'); let i = 0; const end = Date.now() + ${Math.max(60, ikeCycles / 20)} * 1000;
    const t = setInterval(() => { if (Date.now() > end) { clearInterval(t); s.close(); return; } for (let k = 0; k < 4; k++) s.send(Buffer.alloc(200), 9, '10.64.0.' + (1 + (i++ % ${SLOTS}))); }, 1);`], cleanEnv());
  const { peer: ike } = await spawnPeer(lab, `ike-churn-${n}`, '../../bench/ike-churn-peer.ts', {
    address: '192.0.2.1', target: '192.0.2.2', cycles: ikeCycles, slots: SLOTS, holdMs: 200, psk: PSK, ike: 'aes256gcm16-prfsha256-curve25519', esp: 'aes256gcm16', gatewayId: '192.0.2.2',
  });
  await ike.command('go');
  const ikeDone = ike.next(Math.max(300_000, ikeCycles * 100)).then((l) => JSON.parse(l.replace(/^result /, '')) as { up: number; down: number; failed: number; seconds: number; perSecond: number });
  const ikePeak = await peakDuring(lab, pid, ikeDone);
  const ikeResult = await ikeDone;
  // The next round's clients bind the same UDP 500: this round's process goes first.
  for (const pid of [sender.pid, ike.daemon.pid]) process.kill(pid, 'SIGTERM');
  await ike.daemon.exited;
  console.log(`bench churn round ${n} ike ${ikeResult.down} of ${ikeCycles} cycles (${ikeResult.failed} failed) in ${ikeResult.seconds.toFixed(0)} s, ${ikeResult.perSecond.toFixed(0)} per second, ${SLOTS} clients at a time`);
  console.log(`bench churn round ${n} ${line('ike peak', ikePeak)}`);

  const { peer: sstp } = await spawnPeer(lab, `sstp-churn-${n}`, '../../bench/sstp-churn-peer.ts', {
    host: '192.0.2.2', port: 443, servername: '192.0.2.2', ca, cycles: sstpCycles, concurrency: 16, users: USERS, userPrefix: 'churn', password: PASSWORD, target: '10.2.0.10', pings: 5,
  });
  await sstp.command('go');
  const sstpDone = sstp.next(Math.max(300_000, sstpCycles * 300)).then((l) => JSON.parse(l.replace(/^result /, '')) as { done: number; failed: number; replies: number; sent: number; seconds: number; errors: Record<string, number> });
  const sstpPeak = await peakDuring(lab, pid, sstpDone);
  const sstpResult = await sstpDone;
  process.kill(sstp.daemon.pid, 'SIGTERM');
  console.log(`bench churn round ${n} sstp ${sstpResult.done} of ${sstpCycles} calls (${sstpResult.failed} failed${sstpResult.failed ? `: ${JSON.stringify(sstpResult.errors)}` : ''}) in ${sstpResult.seconds.toFixed(0)} s, ${sstpResult.replies} of ${sstpResult.sent} pings answered`);
  console.log(`bench churn round ${n} ${line('sstp peak', sstpPeak)}`);
}

const lab = Lab.create(twoSitesDirect);
try {
  const { daemon, ca } = await gateway(lab);
  await new Promise((done) => setTimeout(done, 2000));
  const before = await snapshot(lab, daemon.pid);
  console.log(`bench churn ${line('before', before)}`);
  const afters: Snapshot[] = [];
  for (let n = 1; n <= ROUNDS; n++) {
    await round(lab, daemon.pid, ca, n, Math.round(IKE_CYCLES / ROUNDS), Math.round(SSTP_CYCLES / ROUNDS));
    // Half-open SAs time out after 30 s: let the service settle before measuring.
    await new Promise((done) => setTimeout(done, 35_000));
    afters.push(await snapshot(lab, daemon.pid));
    console.log(`bench churn ${line(`after round ${n}`, afters.at(-1)!)}`);
  }
  const after = afters.at(-1)!;
  const back = after.sas === before.sas && after.policies === before.policies && after.routes === before.routes && after.ikeSas === before.ikeSas && after.sstpCalls === before.sstpCalls && after.fds <= before.fds + 2;
  // The first round raises the heap to its working size; a leak shows as growth from round to round.
  const perRound = afters.length > 1 ? (after.rss - afters[0]!.rss) / (afters.length - 1) : after.rss - before.rss;
  console.log(`bench churn baseline ${back ? 'restored' : 'NOT restored'} after ${IKE_CYCLES + SSTP_CYCLES} connections: SAs, policies, calls, routes and descriptors back to their start; RSS ${MB(before.rss)} → ${afters.map((a) => MB(a.rss)).join(' → ')} (${perRound >= 0 ? '+' : ''}${MB(perRound)} per round after the first; V8 old space capped at ${HEAP_MB} MB)`);
  if (!back) process.exitCode = 1;
} finally {
  lab.teardown();
}
