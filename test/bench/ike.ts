// IKEv2 benchmark: IKE_SA setups per second against Postern and against strongSwan, same lab,
// same group (ECP-256), same client (Postern's engine as many remote-access clients); then how
// many SAs Postern holds and its memory per SA. Prints `bench ike …` lines.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startPosternIke } from '../lab/peers/postern-ike.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';

const COUNT = Number(process.env['BENCH_IKE_COUNT'] ?? 1000);
/** How long a load may take before its count so far is read instead: BENCH_IKE_WAIT_MS, else 120 s or 50 ms per SA. */
const WAIT_MS = process.env['BENCH_IKE_WAIT_MS'] === undefined ? undefined : Number(process.env['BENCH_IKE_WAIT_MS']);
const HOLD = Number(process.env['BENCH_IKE_HOLD'] ?? 10_000);
/** BENCH_IKE_DH_WORKERS=0: Postern's DH on its main thread (the figure before the worker pool). */
const DH_WORKERS = process.env['BENCH_IKE_DH_WORKERS'] === undefined ? undefined : Number(process.env['BENCH_IKE_DH_WORKERS']);
/** Load generator processes (BENCH_IKE_LOAD_PROCESSES, default 2): each an engine on an address of its own, so one process does not cap both responders' rates. */
const LOAD_PROCESSES = Number(process.env['BENCH_IKE_LOAD_PROCESSES'] ?? 2);
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
  });
  return { memory: async () => rssOf(swan.daemon.pid), pid: swan.daemon.pid };
}

/** The load generator's CPU seconds: its process and its children (one per address). */
const loadCpuOf = (pid: number) => [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)].reduce((sum, p) => sum + cpuOf(p), 0);

async function load(lab: Lab, count: number): Promise<{ up: number; failed: number; seconds: number; perSecond: number; finished: boolean; loadCpuMs: number }> {
  // One more address on gwA per load process after the first (192.0.2.1 plus 192.0.2.21, …).
  const addresses = Array.from({ length: Math.max(1, LOAD_PROCESSES) }, (_, k) => (k === 0 ? '192.0.2.1' : `192.0.2.${20 + k}`));
  for (const a of addresses.slice(1)) lab.execSync('gwA', ['ip', 'addr', 'add', `${a}/24`, 'dev', 'wan']);
  const { peer } = await LinePeer.spawn(lab, 'gwA', 'ike-load', '../../bench/ike-load-peer.ts', {
    address: '192.0.2.1', target: '192.0.2.2', count, concurrency: 32, psk: PSK, ike: IKE, esp: ESP, gatewayId: 'gw.example', addresses,
  });
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
  const loadCpuMs = ((loadCpuOf(peer.daemon.pid) - loadBefore) * 1000) / Math.max(1, r.up);
  return { ...r, perSecond: r.perSecond ?? r.up / r.seconds, finished: line.startsWith('result '), loadCpuMs };
}

// BENCH_IKE_RESPONDERS=postern: one of them only (a profile of Postern's side, say).
const RESPONDERS = (process.env['BENCH_IKE_RESPONDERS'] ?? 'postern,strongswan').split(',');
for (const kind of (['postern', 'strongswan'] as const).filter((k) => RESPONDERS.includes(k))) {
  const lab = Lab.create(twoSitesDirect);
  try {
    const { memory, pid, dh, snapshot } = await responder(lab, kind);
    const before = await memory();
    const cpuBefore = cpuOf(pid);
    const mainBefore = mainThreadCpuOf(pid);
    const r = await load(lab, COUNT);
    const cpuMs = ((cpuOf(pid) - cpuBefore) * 1000) / Math.max(1, r.up);
    const mainMs = ((mainThreadCpuOf(pid) - mainBefore) * 1000) / Math.max(1, r.up);
    const perSa = ((await memory()) - before) / Math.max(1, r.up);
    // BENCH_IKE_HEAP_SNAPSHOT=PATH: Postern's heap with its SAs up, for a look at what each one keeps.
    if (kind === 'postern' && process.env['BENCH_IKE_HEAP_SNAPSHOT']) console.log(`bench ike heap snapshot ${await snapshot!(process.env['BENCH_IKE_HEAP_SNAPSHOT'])}`);
    console.log(`bench ike setup ${kind} ${r.perSecond.toFixed(0)} per second (${r.up} of ${COUNT} up${r.finished ? '' : ' at the deadline'}, ${r.failed} failed, ${r.seconds.toFixed(1)} s, ECP-256, PSK, virtual IP, one child each, ${LOAD_PROCESSES} load process${LOAD_PROCESSES === 1 ? '' : 'es'})`);
    console.log(`bench ike cpu ${kind} ${cpuMs.toFixed(2)} ms of responder CPU per setup (${kind === 'postern' ? `${mainMs.toFixed(2)} ms on its main thread; ` : ''}load generator ${r.loadCpuMs.toFixed(2)} ms; load average ${loadavg()[0]!.toFixed(1)})`);
    if (dh) console.log(`bench ike dh ${kind} ${await dh()}`);
    console.log(`bench ike memory ${kind} ${Math.round(perSa)} bytes per SA (responder RSS growth over ${r.up} SAs)`);
  } finally {
    lab.teardown();
  }
}

if (HOLD > 0) {
  const lab = Lab.create(twoSitesDirect);
  try {
    const { memory } = await responder(lab, 'postern');
    const before = await memory();
    const r = await load(lab, HOLD);
    console.log(`bench ike hold postern ${r.up} SAs held (${r.failed} failed) in ${r.seconds.toFixed(1)} s, ${Math.round(((await memory()) - before) / Math.max(1, r.up))} bytes per SA`);
  } finally {
    lab.teardown();
  }
}
