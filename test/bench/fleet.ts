// Fleet benchmark (issue 26): N simulated boxes (BENCH_FLEET_BOXES, default 1,000), each Postern's
// own MQTT telemetry (MqttTelemetry over mqtt.js, MQTT 5) and fleet agent (FleetAgent: verify,
// ledger, plan, reported state) with its own configuration store and applyConfig (validation,
// commit to disk; no subsystems, no data planes), all in this process, against one mosquitto on
// loopback (a random port). The console, an mqtt.js client here too, first sends every box its own
// signed whole document (r0), then one signed group patch (r1 on r0): measured are the time until
// every box has applied and reported each, the broker's message rate meanwhile (its $SYS counters),
// and memory per simulated box (this process's heap and RSS, mosquitto's RSS). Prints `bench fleet …` lines.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ConfigStore } from '../../firmware/config/store.ts';
import { applyConfig } from '../../firmware/config/transaction.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { rawPublicKey, signEnvelope, type DesiredPayload } from '../../firmware/fleet/envelope.ts';
import { FleetAgent } from '../../firmware/fleet/fleet-agent.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { MqttTelemetry } from '../../firmware/telemetry/mqtt-telemetry.ts';
import type { StatusMessage } from '../../firmware/telemetry/schema.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { mosquittoConf } from '../lab/peers/mosquitto.ts';

const BOXES = Number(process.env['BENCH_FLEET_BOXES'] ?? 1000);
const USER = 'fleet';
const PASSWORD = 'Bench-Fleet-26';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const kib = (bytes: number) => (bytes / 1024).toFixed(0);

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  }).on('error', reject);
});

async function waitFor(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'postern-bench-fleet-'));
const port = await freePort();
const { execFileSync } = await import('node:child_process');
execFileSync('mosquitto_passwd', ['-c', '-b', join(dir, 'passwd'), USER, PASSWORD]);
// $SYS every second: the broker's own message counters.
writeFileSync(join(dir, 'mosquitto.conf'), `${mosquittoConf(dir, { address: '127.0.0.1', port, users: {} }).replace('log_type all', 'log_type error')}sys_interval 1\nmax_queued_messages 5000\n`);
const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
const url = `mqtt://127.0.0.1:${port}`;
const operator = generateKeyPairSync('ed25519');
const operatorKey = rawPublicKey(operator.publicKey).toString('base64');
const logger = createLogger({ sink: () => undefined, level: 'error' });
const status = async (): Promise<StatusMessage> => ({ schema: 1, ts: new Date().toISOString(), uptimeSeconds: 1 }) as unknown as StatusMessage;

const serial = (i: number) => `box-${String(i).padStart(5, '0')}`;
function boxConfig(i: number): PosternConfig {
  const c = defaultConfig();
  c.telemetry.mqtt = {
    ...c.telemetry.mqtt, enabled: true, url, username: USER, password: PASSWORD, deviceId: serial(i), intervalSeconds: 300,
    fleet: { enabled: true, operatorKeys: [operatorKey], groups: ['bench'], confirmSeconds: 120 },
  };
  return c;
}

interface Box {
  readonly telemetry: MqttTelemetry;
  readonly store: ConfigStore;
}

/** One simulated box: its store, the fleet agent on it, the telemetry carrying the agent. */
async function startBox(i: number): Promise<Box> {
  const stateDir = join(dir, serial(i));
  const store = await ConfigStore.open(join(stateDir, 'config'), { logger, initial: () => boxConfig(i), keep: 5 });
  let telemetry: MqttTelemetry | undefined;
  const fleet: FleetAgent = new FleetAgent({
    stateDir, logger, clock: Date.now,
    current: () => store.current(), configAt: (revision) => store.get(revision),
    apply: async (next, meta) => {
      const a0 = performance.now();
      const result = await applyConfig(store, next, [], meta);
      applyMs.push(performance.now() - a0);
      // As the service does after a commit: telemetry's config/version and event, the fleet's drift check.
      if (result.ok) {
        telemetry?.configChanged(result.revision);
        fleet.configChanged(meta.author);
      }
      return result;
    },
    safeModePending: () => undefined, confirmSafeMode: () => false, reconnect: () => telemetry?.reconnect(),
  });
  const settings = store.current().config.telemetry.mqtt;
  const agent = fleet.extension(settings);
  // Counted on the way in (when the broker delivered a desired document to this box), then the agent's.
  const extension = agent && { ...agent, message: (topic: string, payload: Buffer, retained: boolean) => {
    if (payload.length > 0) delivered.set(i, performance.now());
    agent.message(topic, payload, retained);
  } };
  telemetry = new MqttTelemetry({ url, username: USER, password: new Secret(PASSWORD), deviceId: settings.deviceId, prefix: 'postern', intervalSeconds: settings.intervalSeconds }, {
    statusSource: status, logger, revision: store.current().revision, ...(extension ? { extension } : {}),
  });
  telemetry.start();
  return { telemetry, store };
}

const signed = (target: DesiredPayload['target'], revision: string, sequence: number, body: Pick<DesiredPayload, 'kind'> & Record<string, unknown>) =>
  signEnvelope({ type: 'postern-desired', target, sequence, issuedAt: Date.now(), expiresAt: Date.now() + 3_600_000, revision, ...body } as DesiredPayload, operator.privateKey);

const boxes: Box[] = [];
const applyMs: number[] = [];
/** Per box: when its newest desired message arrived. */
const delivered = new Map<number, number>();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
let consoleClient: Awaited<ReturnType<typeof connectAsync>> | undefined;
try {
  await waitFor('mosquitto', 5000, () => {
    try {
      execFileSync('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-u', USER, '-P', PASSWORD, '-t', '$SYS/broker/uptime', '-C', '1', '-W', '1'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  // The console: every box's reported state and the broker's counters.
  consoleClient = await connectAsync(url, { username: USER, password: PASSWORD, protocolVersion: 5, clientId: 'bench-console' });
  const reported = new Map<string, { revision?: string; outcome?: string }>();
  // MQTT packets of all types (mosquitto 2.0's PUBLISH-only counters did not add up here); `at`: the sample's arrival.
  const sys = { received: 0, sent: 0, at: 0 };
  const SYS: Record<string, 'received' | 'sent'> = { '$SYS/broker/messages/received': 'received', '$SYS/broker/messages/sent': 'sent' };
  consoleClient.on('message', (topic, payload) => {
    const counter = SYS[topic];
    if (counter) {
      sys[counter] = Number(payload.toString());
      if (counter === 'sent') sys.at = performance.now();
    } else {
      const r = JSON.parse(payload.toString()) as { serial: string; applied?: { revision: string }; last?: { outcome: string; revision?: string } };
      reported.set(r.serial, { ...(r.applied ? { revision: r.applied.revision } : {}), ...(r.last ? { outcome: r.last.outcome } : {}) });
    }
  });
  await consoleClient.subscribeAsync(['postern/+/reported', ...Object.keys(SYS)], { qos: 1 });

  gc();
  const before = process.memoryUsage();
  const startedAt = performance.now();
  for (let i = 0; i < BOXES; i += 100) {
    boxes.push(...(await Promise.all(Array.from({ length: Math.min(100, BOXES - i) }, (_, k) => startBox(i + k)))));
    await waitFor('boxes connected', 60_000, () => boxes.every((b) => b.telemetry.connected));
  }
  const connectMs = performance.now() - startedAt;
  const brokerCpu = () => readFileSync(`/proc/${broker.pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0) / 100;
  const brokerRss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${broker.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  console.log(`bench fleet boxes: ${BOXES} connected in ${(connectMs / 1000).toFixed(1)} s (store opened, MQTT 5 connect, subscriptions, online, first status)`);

  /** Publishes, then waits for every box to report `revision` applied; the broker's rate from its $SYS counters. */
  const round = async (what: string, revision: string, publish: () => Promise<void>) => {
    const fresh = sys.at;
    await waitFor('a $SYS sample', 3000, () => sys.at !== fresh);
    const from = { ...sys };
    delivered.clear();
    applyMs.length = 0;
    const cpu0 = process.cpuUsage();
    const brokerCpu0 = brokerCpu();
    const t0 = performance.now();
    await publish();
    await waitFor(`${what} applied by all`, 300_000, () => reported.size >= BOXES && [...reported.values()].every((r) => r.revision === revision && r.outcome === 'applied'));
    const ms = performance.now() - t0;
    const deliveredMs = Math.max(...delivered.values()) - t0;
    const cpu = process.cpuUsage(cpu0);
    const brokerSeconds = brokerCpu() - brokerCpu0;
    const done = sys.at;
    await waitFor('a $SYS sample', 3000, () => sys.at !== done);
    const messages = sys.received - from.received + sys.sent - from.sent;
    const seconds = (sys.at - from.at) / 1000;
    const refused = [...reported.values()].filter((r) => r.outcome !== 'applied').length;
    console.log(`bench fleet ${what}: applied and reported by ${BOXES}/${BOXES} boxes in ${(ms / 1000).toFixed(2)} s (${Math.round(BOXES / (ms / 1000))} boxes/s; delivered to all in ${(deliveredMs / 1000).toFixed(2)} s; one apply ${median(applyMs).toFixed(1)} ms median, validate + commit, one at a time in this process)${refused ? `, ${refused} not applied` : ''}`);
    console.log(`bench fleet ${what} load: broker ${Math.round(messages / seconds)} MQTT packets/s in+out (${messages} packets, ${(messages / BOXES).toFixed(1)} per box, over the ${seconds.toFixed(1)} s of $SYS samples around it); mosquitto CPU ${brokerSeconds.toFixed(2)} s; the boxes' CPU ${((cpu.user + cpu.system) / 1000 / BOXES).toFixed(1)} ms per box`);
  };

  let sequence = Date.now();
  const r0 = Array.from({ length: BOXES }, (_, i) => {
    const doc = boxConfig(i);
    doc.system.hostname = `shop-${i}`;
    return signed({ serial: serial(i) }, 'r0', ++sequence, { kind: 'document', document: doc as unknown as Record<string, unknown> });
  });
  await round('per-box documents (r0, one each)', 'r0', async () => {
    for (let i = 0; i < BOXES; i++) await consoleClient!.publishAsync(`postern/${serial(i)}/desired`, r0[i]!, { qos: 1, retain: true });
  });
  await round('group change (r1, one patch for all)', 'r1', async () => {
    await consoleClient!.publishAsync('postern/group/bench/desired', signed({ group: 'bench' }, 'r1', ++sequence, { kind: 'patch', base: 'r0', patch: { system: { hostname: 'branch-r1' } } }), { qos: 1, retain: true });
  });
  const wrong = boxes.filter((b) => b.store.current().config.system.hostname !== 'branch-r1').length;
  if (wrong > 0) throw new Error(`${wrong} boxes do not run r1`);

  gc();
  await sleep(200);
  gc();
  const after = process.memoryUsage();
  console.log(`bench fleet memory per simulated box: heap ${kib((after.heapUsed - before.heapUsed) / BOXES)} KiB, rss ${kib((after.rss - before.rss) / BOXES)} KiB (process: heap ${mib(after.heapUsed)} MiB, rss ${mib(after.rss)} MiB); mosquitto rss ${mib(brokerRss())} MiB (${kib(brokerRss() / BOXES)} KiB per box)`);
} finally {
  await Promise.all(boxes.map((b) => b.telemetry.stop().catch(() => undefined)));
  await consoleClient?.endAsync().catch(() => undefined);
  broker.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
