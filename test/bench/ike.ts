// IKEv2 benchmark: IKE_SA setups per second against Postern and against strongSwan, same lab,
// same group (ECP-256), same client (Postern's engine as many remote-access clients); then how
// many SAs Postern holds and its memory per SA. Prints `bench ike …` lines.
// The responders take turns over BENCH_IKE_ROUNDS rounds, so a spell of a busy machine falls on
// both; with two cores or more the responder runs on the first and the load generator on the others
// (BENCH_IKE_PIN=0: shared), so each rate is the responder's and not the generator's share of the box.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { startPosternIke } from '../lab/peers/postern-ike.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';

const COUNT = Number(process.env['BENCH_IKE_COUNT'] ?? 2000);
/** How long a load may take before its count so far is read instead: BENCH_IKE_WAIT_MS, else 120 s or 50 ms per SA. */
const WAIT_MS = process.env['BENCH_IKE_WAIT_MS'] === undefined ? undefined : Number(process.env['BENCH_IKE_WAIT_MS']);
const HOLD = Number(process.env['BENCH_IKE_HOLD'] ?? 10_000);
/** BENCH_IKE_DH_WORKERS=0: Postern's DH on its main thread (the figure before the worker pool). */
const DH_WORKERS = process.env['BENCH_IKE_DH_WORKERS'] === undefined ? undefined : Number(process.env['BENCH_IKE_DH_WORKERS']);
/**
 * Load generator processes (BENCH_IKE_LOAD_PROCESSES, default 1), each an engine on an address of its
 * own. One needs 0.6 ms of CPU per setup where two on the same core needed 0.9–1.2 (two heaps, two
 * loops taking turns) and ran their core at 93 % against Postern, so its rate was theirs.
 */
const LOAD_PROCESSES = Number(process.env['BENCH_IKE_LOAD_PROCESSES'] ?? 1);
/**
 * Setups made and deleted again before each timed load (BENCH_IKE_WARMUP, default 2,000; 0: none):
 * the rate is then the responder's steady one, past V8's start (Postern) and its pools' growth; the
 * warm-up's own rate is printed as the cold one. Not in the hold, which starts cold.
 */
const WARMUP = Number(process.env['BENCH_IKE_WARMUP'] ?? 2000);
/** Rounds of one run against each responder, in turn (BENCH_IKE_ROUNDS, default 5): the ratio is of the medians. */
const ROUNDS = Math.max(1, Number(process.env['BENCH_IKE_ROUNDS'] ?? 5));
const CORES = availableParallelism();
const PIN = process.env['BENCH_IKE_PIN'] !== '0' && CORES >= 2;
/** The load generator's CPUs when pinned (the responder has CPU 0). */
const GENERATOR_CPUS = CORES === 2 ? '1' : `1-${CORES - 1}`;
/** Setups the load generator keeps under way at once (BENCH_IKE_CONCURRENCY, default 32). */
const CONCURRENCY = Number(process.env['BENCH_IKE_CONCURRENCY'] ?? 32);
const PSK = 'bench-psk-0123456789abcdef';
const IKE = 'aes128gcm16-prfsha256-ecp256';
const ESP = 'aes128gcm16';

/** CPU seconds (user + system) a process has used: on a shared 2-core machine steadier than wall time. */
const cpuOf = (pid: number, task = '') => readFileSync(`/proc/${pid}/${task}stat`, 'utf8').replace(/^.*\) /s, '').split(' ').slice(11, 13).reduce((sum, t) => sum + Number(t), 0) / 100;
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** The main thread's alone (Postern's engine; its DH workers are the other threads). */
const mainThreadCpuOf = (pid: number) => cpuOf(pid, `task/${pid}/`);

/** Resident memory of the responder: Postern's after a full collection (garbage is not SA cost). */
type Memory = () => Promise<number>;
interface Responder { memory: Memory; pid: number; dh?: () => Promise<string>; snapshot?: (path: string) => Promise<string> }

// All load comes from one address: both responders get their per-address DoS limits lifted.
async function responder(lab: Lab, kind: 'postern' | 'strongswan'): Promise<Responder> {
  if (kind === 'postern') {
    const peer = await startPosternIke(lab, 'gwB', {
      address: '192.0.2.2', dataplane: { tunnelAddress: '10.2.0.1', hub: true }, pools: { ra: { prefix: '10.10.0.0/16', dns: [] } },
      logLevel: 'warn', perSourceRate: 100_000, cookieThreshold: 100_000, quiet: true, ...(DH_WORKERS === undefined ? {} : { dhWorkers: DH_WORKERS }),
      connections: [{ name: 'ra', localId: 'gw.example', psk: PSK, ike: [IKE], esp: [ESP], localTs: ['10.2.0.0/24'], remoteTs: [], mode: 'tunnel', dpdSeconds: 0, pool: 'ra', mobike: false }],
    });
    const dh = async () => JSON.stringify((JSON.parse((await peer.command('status')).replace(/^status /, '')) as { dh: unknown }).dh);
    const snapshot = async (path: string) => (await peer.command(`heap-snapshot ${path}`, 180_000)).replace(/^heap-snapshot /, '');
    return { memory: async () => (JSON.parse((await peer.command('memory')).replace(/^memory /, '')) as { rss: number }).rss, pid: peer.daemon.pid, dh, snapshot };
  }
  const swan = await StrongSwan.start(lab, 'gwB', {
    connections: {
      ra: {
        localAddrs: ['192.0.2.2'], remoteAddrs: ['%any'], proposals: [IKE], pools: ['ra'], mobike: false,
        local: { auth: 'psk', id: 'gw.example' }, remote: { auth: 'psk', id: '%any' },
        children: { lan: { localTs: ['10.2.0.0/24'], remoteTs: ['dynamic'], espProposals: [ESP] } },
      },
    },
    secrets: [{ kind: 'ike', ids: [], secret: PSK }],
    pools: { ra: { addrs: '10.10.0.0/16' } },
    charonOptions: ['block_threshold = 100000', 'cookie_threshold = 100000', 'init_limit_half_open = 0'],
    log: 'quiet', // as Postern's warn: neither side writes a line per message
  });
  return { memory: async () => rssOf(swan.daemon.pid), pid: swan.daemon.pid };
}

/** The load generator's processes: it and its children (one per address). */
const loadPids = (pid: number) => [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)];
/** The load generator's CPU seconds. */
const loadCpuOf = (pid: number) => loadPids(pid).reduce((sum, p) => sum + cpuOf(p), 0);
/** Every thread of `pid` (threads made later inherit it) onto these CPUs. */
const pin = (pid: number, cpus: string) => execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });

interface Warmed { up: number; failed: number; seconds: number }

/** Calls between a load's phases: once the warm-up's SAs are all up (held), and once they are deleted again. */
interface Phases { warm?: (warmed: Warmed) => Promise<void>; unwarmed?: () => Promise<void> }

async function load(lab: Lab, count: number, responderPid?: number, warmup = 0, phases: Phases = {}): Promise<{ up: number; failed: number; seconds: number; perSecond: number; finished: boolean; loadCpuMs: number; loadBusy: number; warmed?: Warmed }> {
  // One more address on gwA per load process after the first (192.0.2.1 plus 192.0.2.21, …).
  const addresses = Array.from({ length: Math.max(1, LOAD_PROCESSES) }, (_, k) => (k === 0 ? '192.0.2.1' : `192.0.2.${20 + k}`));
  for (const a of addresses.slice(1)) lab.execSync('gwA', ['ip', 'addr', 'add', `${a}/24`, 'dev', 'wan']);
  const { peer } = await LinePeer.spawn(lab, 'gwA', 'ike-load', '../../bench/ike-load-peer.ts', {
    address: '192.0.2.1', target: '192.0.2.2', count, concurrency: CONCURRENCY, psk: PSK, ike: IKE, esp: ESP, gatewayId: 'gw.example', addresses, warmup,
  });
  const pinned = PIN && responderPid !== undefined;
  if (pinned) {
    pin(responderPid, '0');
    for (const p of loadPids(peer.daemon.pid)) pin(p, GENERATOR_CPUS);
  }
  let warmed: Warmed | undefined;
  if (warmup > 0) {
    const phaseMs = Math.max(120_000, warmup * 100);
    const line = await peer.command('warmup', phaseMs);
    if (!line.startsWith('warm ')) throw new Error(`warm-up: ${line}`);
    warmed = JSON.parse(line.slice('warm '.length)) as Warmed;
    await phases.warm?.(warmed);
    const gone = await peer.command('unwarm', phaseMs);
    if (!gone.startsWith('unwarmed')) throw new Error(`warm-up's deletes: ${gone}`);
    await phases.unwarmed?.();
  }
  const loadBefore = loadCpuOf(peer.daemon.pid);
  await peer.command('go');
  process.stderr.write(`load of ${count} started\n`);
  const line = await peer.next(WAIT_MS ?? Math.max(120_000, count * 50)).catch(async (e: Error) => {
    // Not all up by the deadline: how many were, so the figure is still read beside the other responder's.
    const progress = await peer.command('progress').catch(() => undefined);
    if (progress?.startsWith('progress ')) return progress;
    throw new Error(`${e.message}; load generator log:\n${readFileSync(peer.daemon.logFile, 'utf8').slice(-2000)}`);
  });
  const r = JSON.parse(line.replace(/^(result|progress) /, '')) as { up: number; failed: number; seconds: number; perSecond?: number };
  const loadCpu = loadCpuOf(peer.daemon.pid) - loadBefore;
  // How busy the generator's cores were: near 1, its rate and not the responder's may be the figure.
  const loadBusy = loadCpu / (r.seconds * (pinned ? CORES - 1 : CORES));
  return { ...r, perSecond: r.perSecond ?? r.up / r.seconds, finished: line.startsWith('result '), loadCpuMs: (loadCpu * 1000) / Math.max(1, r.up), loadBusy, ...(warmed ? { warmed } : {}) };
}

// BENCH_IKE_RESPONDERS=postern: one of them only (a profile of Postern's side, say).
const RESPONDERS = (process.env['BENCH_IKE_RESPONDERS'] ?? 'postern,strongswan').split(',');
const kinds = (['postern', 'strongswan'] as const).filter((k) => RESPONDERS.includes(k));
const rates: Record<string, number[]> = { postern: [], strongswan: [] };
const placement = PIN ? `responder on CPU 0, load generator on CPU ${GENERATOR_CPUS}` : 'responder and load generator sharing the cores';
for (let round = 1; round <= ROUNDS; round++) {
  for (const kind of kinds) {
    const lab = Lab.create(twoSitesDirect);
    try {
      const { memory, pid, dh, snapshot } = await responder(lab, kind);
      // Memory per SA from a fresh responder: over the warm-up's SAs while they are up (deleted SAs
      // leave memory to reuse), else over the timed ones. CPU over the timed load alone.
      const fresh = await memory();
      let perSa = NaN;
      let cpuBefore = cpuOf(pid);
      let mainBefore = mainThreadCpuOf(pid);
      const r = await load(lab, COUNT, pid, WARMUP, {
        warm: async (w) => void (perSa = ((await memory()) - fresh) / Math.max(1, w.up)),
        unwarmed: async () => {
          cpuBefore = cpuOf(pid);
          mainBefore = mainThreadCpuOf(pid);
        },
      });
      const cpuMs = ((cpuOf(pid) - cpuBefore) * 1000) / Math.max(1, r.up);
      const mainMs = ((mainThreadCpuOf(pid) - mainBefore) * 1000) / Math.max(1, r.up);
      if (!r.warmed) perSa = ((await memory()) - fresh) / Math.max(1, r.up);
      if (r.finished) rates[kind]!.push(r.perSecond);
      if (r.warmed) console.log(`bench ike warm-up ${kind} ${(r.warmed.up / r.warmed.seconds).toFixed(0)} per second cold (round ${round}; the first ${r.warmed.up} setups${r.warmed.failed ? `, ${r.warmed.failed} failed` : ''} in ${r.warmed.seconds.toFixed(1)} s, then deleted again)`);
      // BENCH_IKE_HEAP_SNAPSHOT=PATH: Postern's heap with its SAs up, for a look at what each one keeps.
      if (kind === 'postern' && round === 1 && process.env['BENCH_IKE_HEAP_SNAPSHOT']) console.log(`bench ike heap snapshot ${await snapshot!(process.env['BENCH_IKE_HEAP_SNAPSHOT'])}`);
      console.log(`bench ike setup ${kind} ${r.perSecond.toFixed(0)} per second (round ${round} of ${ROUNDS}${r.warmed ? ', after the warm-up' : ''}; ${r.up} of ${COUNT} up${r.finished ? '' : ' at the deadline'}, ${r.failed} failed, ${r.seconds.toFixed(1)} s, ECP-256, PSK, virtual IP, one child each, ${LOAD_PROCESSES} load process${LOAD_PROCESSES === 1 ? '' : 'es'}, ${placement})`);
      console.log(`bench ike cpu ${kind} ${cpuMs.toFixed(2)} ms of responder CPU per setup (${kind === 'postern' ? `${mainMs.toFixed(2)} ms on its main thread; ` : ''}load generator ${r.loadCpuMs.toFixed(2)} ms, its cores ${(r.loadBusy * 100).toFixed(0)} % busy; load average ${loadavg()[0]!.toFixed(1)})`);
      if (dh) console.log(`bench ike dh ${kind} ${await dh()}`);
      console.log(`bench ike memory ${kind} ${Math.round(perSa)} bytes per SA (responder RSS growth over ${r.warmed?.up ?? r.up} SAs${r.warmed ? ', the warm-up\'s' : ''})`);
    } finally {
      lab.teardown();
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
if (rates['postern']!.length && rates['strongswan']!.length) {
  const perRound = rates['postern']!.map((p, i) => (rates['strongswan']![i] ? p / rates['strongswan']![i]! : NaN)).filter(Number.isFinite);
  console.log(`bench ike ratio postern/strongswan ${(median(rates['postern']!)! / median(rates['strongswan']!)!).toFixed(2)}× of the medians (${median(rates['postern']!)!.toFixed(0)} against ${median(rates['strongswan']!)!.toFixed(0)} setups/s; by round ${perRound.map((x) => `${x.toFixed(2)}×`).join(', ')}; ${placement})`);
}

/**
 * The hold: HOLD SAs (default 10,000) set up and kept, from a responder just started (`cold`) and, with
 * BENCH_IKE_HOLD_WARMUP (default the warm-up's count; 0: skip), from one past a warm-up deleted again.
 */
const HOLD_WARMUP = Number(process.env['BENCH_IKE_HOLD_WARMUP'] ?? WARMUP);
for (const warmup of HOLD > 0 ? [0, ...(HOLD_WARMUP > 0 ? [HOLD_WARMUP] : [])] : []) {
  const lab = Lab.create(twoSitesDirect);
  try {
    const { memory } = await responder(lab, 'postern');
    let before = await memory();
    // Not pinned: the gateway's DH workers may use every core, as on a box of its own.
    const r = await load(lab, HOLD, undefined, warmup, { unwarmed: async () => void (before = await memory()) });
    const start = warmup ? `after a warm-up of ${warmup} setups deleted again` : 'from a responder just started';
    console.log(`bench ike hold postern ${r.up} SAs held (${r.failed} failed) in ${r.seconds.toFixed(1)} s ${start}, ${Math.round(((await memory()) - before) / Math.max(1, r.up))} bytes per SA (cores shared with the load generator, ${(r.loadBusy * 100).toFixed(0)} % of them its; load average ${loadavg()[0]!.toFixed(1)})`);
  } finally {
    lab.teardown();
  }
}
