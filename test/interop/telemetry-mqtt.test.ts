// Postern's MQTT telemetry against a real mosquitto: the gateway (telemetry-peer.ts) in one lab host,
// the broker and an independent subscriber (mosquitto_sub) in another.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { Mosquitto, type MosquittoSpec } from '../lab/peers/mosquitto.ts';
import type { TelemetryPeerConfig } from '../lab/peers/telemetry-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { Lab, type Daemon, type TopologySpec } from '../lab/topology.ts';
import { labSkip } from '../lab/skip.ts';

const missing = ['mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'mosquitto_passwd', 'nft'].filter((b) => !hasBinary(b));
const skip = labSkip(!isRoot() ? 'needs root (network namespaces)' : missing.length ? `not installed: ${missing.join(', ')}` : false);

const BROKER = '10.9.1.1';
const USER = 'fleet';
const PASSWORD = 'Fleet-Telemetry-Pass-7';
const AUTH = ['-h', BROKER, '-u', USER, '-P', PASSWORD];
const brokerSpec: MosquittoSpec = { address: BROKER, users: { [USER]: PASSWORD } };

/** The broker's host and the gateway's host on one link. */
const pair: TopologySpec = {
  hosts: { broker: {}, gw: {} },
  links: { net0: { a: ['broker', `${BROKER}/24`], b: ['gw', '10.9.1.2/24'] } },
};

interface Received {
  readonly retained: boolean;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

/** mosquitto_sub in a lab host; every message as `retained topic payload`, collected in order. */
class Subscriber {
  readonly messages: Received[] = [];
  readonly daemon: Daemon;

  private constructor(daemon: Daemon) {
    this.daemon = daemon;
    createInterface({ input: daemon.child.stdout! }).on('line', (line) => {
      const [retained, topic] = line.split(' ', 2);
      const body = line.slice(`${retained} ${topic} `.length);
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(body) as Record<string, unknown>;
      } catch {
        payload = { raw: body };
      }
      this.messages.push({ retained: retained === '1', topic: topic ?? '', payload });
    });
  }

  /** Subscribed once the broker has sent its SUBACK. */
  static async start(lab: Lab, broker: Mosquitto, id: string, topic: string): Promise<Subscriber> {
    const daemon = lab.spawnDaemon('broker', id, ['mosquitto_sub', ...AUTH, '-i', id, '-q', '1', '-t', topic, '-F', '%r %t %p']);
    await waitUntil(`${id} subscribed`, 5000, () => broker.log().includes(`Sending SUBACK to ${id}`), () => broker.log());
    return new Subscriber(daemon);
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async waitFor(what: string, match: (m: Received) => boolean, ms = 10_000): Promise<Received> {
    await waitUntil(what, ms, () => this.messages.some(match), () => JSON.stringify(this.messages, null, 1));
    return this.messages.find(match)!;
  }
}

async function startGateway(lab: Lab, config: Partial<TelemetryPeerConfig> & { deviceId: string }): Promise<LinePeer> {
  const full: TelemetryPeerConfig = { url: `mqtt://${BROKER}:1883`, username: USER, password: PASSWORD, intervalSeconds: 60, ...config };
  return (await LinePeer.spawn(lab, 'gw', `telemetry-${config.deviceId}`, 'telemetry-peer.ts', full)).peer;
}

async function stats(peer: LinePeer): Promise<Record<string, unknown>> {
  return JSON.parse((await peer.command('stats')).replace(/^stats /, '')) as Record<string, unknown>;
}

const waitConnected = (peer: LinePeer, connected = true) =>
  waitUntil(connected ? 'telemetry connected' : 'telemetry disconnected', 10_000, async () => (await stats(peer))['connected'] === connected, () => readFileSync(peer.daemon.logFile, 'utf8'));

const publish = (lab: Lab, topic: string, message: string) => lab.exec('broker', ['mosquitto_pub', ...AUTH, '-q', '1', '-t', topic, '-m', message]);

t.test('online state and config/version arrive retained, status every second, offline on stop; no password in the log', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  const broker = await Mosquitto.start(lab, 'broker', brokerSpec);
  const gw = await startGateway(lab, { deviceId: 'gw1', intervalSeconds: 1, revision: 7 });
  await waitConnected(gw);
  const sub = await Subscriber.start(lab, broker, 'sub-gw1', 'postern/gw1/#');

  const state = await sub.waitFor('online state', (m) => m.topic === 'postern/gw1/state');
  t.ok(state.retained, 'state is retained');
  t.match(state.payload, { schema: 1, state: 'online', version: 'lab', ts: /^\d{4}-\d\d-\d\dT/ });
  const config = await sub.waitFor('config/version', (m) => m.topic === 'postern/gw1/config/version');
  t.ok(config.retained, 'config/version is retained');
  t.match(config.payload, { schema: 1, revision: 7 });

  await waitUntil('three status reports', 6000, () => sub.on('postern/gw1/status').length >= 3);
  const statuses = sub.on('postern/gw1/status');
  const first = statuses[0]!.payload;
  t.match(first, { schema: 1, memory: { totalBytes: Number }, sessions: { ikev2: 0, sstp: 0, l2tp: 0, pptp: 0 }, tunnels: [] });
  t.equal((first['load'] as unknown[]).length, 3, 'three load averages');
  t.ok(Array.isArray(first['temperatures']), 'temperatures listed (empty without sensors)');
  const net0 = (first['interfaces'] as Array<{ name: string }>).find((i) => i.name === 'net0');
  t.match(net0, { name: 'net0', up: true, rxBytes: Number, txBytes: Number }, 'the namespace interface, up');
  const times = statuses.map((s) => Date.parse(String(s.payload['ts'])));
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    // The configured 1 s, not the default 60: a report gathered on a machine at load 9 came 2.2 s late once.
    t.ok(gap >= 500 && gap <= 5000, `status ${i} came ${gap} ms after the one before`);
  }

  t.equal(await gw.command('stop'), 'stopped');
  const offline = await sub.waitFor('offline on stop', (m) => m.topic === 'postern/gw1/state' && m.payload['state'] === 'offline');
  t.match(offline.payload, { schema: 1, state: 'offline' });
  const log = readFileSync(gw.daemon.logFile, 'utf8');
  t.match(log, /telemetry connected/);
  t.notOk(log.includes(PASSWORD), 'the password is never logged');
});

t.test('the Last Will: a gateway killed with SIGKILL is left offline, retained', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  const broker = await Mosquitto.start(lab, 'broker', brokerSpec);
  const gw = await startGateway(lab, { deviceId: 'gw2' });
  await waitConnected(gw);
  const sub = await Subscriber.start(lab, broker, 'sub-gw2', 'postern/gw2/state');
  await sub.waitFor('online state', (m) => m.payload['state'] === 'online');

  process.kill(gw.daemon.pid, 'SIGKILL');
  await gw.daemon.exited;
  await sub.waitFor('the Will', (m) => m.payload['state'] === 'offline');
  const later = await lab.exec('broker', ['mosquitto_sub', ...AUTH, '-t', 'postern/gw2/state', '-C', '1', '-W', '5', '-F', '%r %p']);
  t.equal(later.code, 0, later.stderr);
  const [retained, ...payload] = later.stdout.trim().split(' ');
  t.equal(retained, '1', 'a later subscriber gets it retained');
  t.match(JSON.parse(payload.join(' ')), { schema: 1, state: 'offline', version: 'lab' });
});

t.test('events raised while the broker is down arrive in order once it is back', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  let broker = await Mosquitto.start(lab, 'broker', brokerSpec);
  const gw = await startGateway(lab, { deviceId: 'gw3' });
  await waitConnected(gw);
  const live = await Subscriber.start(lab, broker, 'sub-gw3a', 'postern/gw3/events');
  t.equal(await gw.command('event session-up'), 'seq 1');
  await live.waitFor('a live event', (m) => m.payload['seq'] === 1);

  process.kill(broker.daemon.pid, 'SIGKILL');
  await broker.daemon.exited;
  await waitConnected(gw, false);
  // Hold the gateway back until the new subscriber listens: events are not retained.
  const closed = await lab.exec('gw', ['nft', 'add table inet gate { chain out { type filter hook output priority 0; tcp dport 1883 reject with tcp reset; }; }']);
  t.equal(closed.code, 0, closed.stderr);
  const types = ['session-down', 'auth-failure', 'rekey', 'tunnel-up', 'config-change'];
  for (const [i, type] of types.entries()) t.equal(await gw.command(`event ${type}`), `seq ${i + 2}`);
  t.match(await stats(gw), { connected: false, buffered: 5, dropped: 0 });

  broker = await Mosquitto.start(lab, 'broker', brokerSpec);
  const sub = await Subscriber.start(lab, broker, 'sub-gw3b', 'postern/gw3/events');
  const opened = await lab.exec('gw', ['nft', 'delete table inet gate']);
  t.equal(opened.code, 0, opened.stderr);
  await waitUntil('five buffered events', 10_000, () => sub.messages.length >= 5, () => readFileSync(gw.daemon.logFile, 'utf8'));
  await sleep(300); // room for a duplicate to show up
  t.same(sub.messages.map((m) => m.payload['seq']), [2, 3, 4, 5, 6], 'all five, in order, once');
  t.same(sub.messages.map((m) => m.payload['type']), types);
  t.match(sub.messages[0]!.payload, { schema: 1, details: { lab: true }, ts: /^\d{4}-/ });
  t.match(await stats(gw), { connected: true, buffered: 0, inflight: 0, connects: 2 });
});

t.test('commands: ignored unless enabled; report-now answered, unknown refused, bad JSON counted', { skip }, async (t) => {
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  const broker = await Mosquitto.start(lab, 'broker', brokerSpec);

  const quiet = await startGateway(lab, { deviceId: 'gw4' });
  await waitConnected(quiet);
  const quietSub = await Subscriber.start(lab, broker, 'sub-gw4', 'postern/gw4/reply');
  t.equal((await publish(lab, 'postern/gw4/cmd', '{"id":"q1","command":"report-now"}')).code, 0);
  await sleep(1500);
  t.same(quietSub.messages, [], 'no reply with commands off (the default)');
  t.equal(await quiet.command('stop'), 'stopped');

  const gw = await startGateway(lab, { deviceId: 'gw5', commandsEnabled: true, intervalSeconds: 3600 });
  await waitConnected(gw); // `online` comes after the command subscription
  const sub = await Subscriber.start(lab, broker, 'sub-gw5', 'postern/gw5/#');
  const statusesBefore = sub.on('postern/gw5/status').length;
  await publish(lab, 'postern/gw5/cmd', 'not json {');
  await publish(lab, 'postern/gw5/cmd', '{"id":"r1","command":"report-now","args":{}}');
  await publish(lab, 'postern/gw5/cmd', '{"id":"r2","command":"reboot"}');
  await publish(lab, 'postern/gw5/cmd', '{"id":"r3","command":"disconnect-session","args":{"session":"x"}}');
  const ok = await sub.waitFor('reply to r1', (m) => m.topic === 'postern/gw5/reply' && m.payload['id'] === 'r1');
  t.same(ok.payload, { schema: 1, id: 'r1', ok: true });
  await sub.waitFor('a status on demand', () => sub.on('postern/gw5/status').length > statusesBefore);
  const unknown = await sub.waitFor('reply to r2', (m) => m.topic === 'postern/gw5/reply' && m.payload['id'] === 'r2');
  t.match(unknown.payload, { schema: 1, id: 'r2', ok: false, error: /unknown command/ });
  const unavailable = await sub.waitFor('reply to r3', (m) => m.topic === 'postern/gw5/reply' && m.payload['id'] === 'r3');
  t.match(unavailable.payload, { ok: false, error: /not available/ });
  t.equal(sub.on('postern/gw5/reply').length, 3, 'the malformed command got no reply');
  await waitUntil('replies acknowledged', 5000, async () => (await stats(gw))['commandsAnswered'] === 3);
  t.match(await stats(gw), { malformedCommands: 1, commandsAnswered: 3 });
  t.equal(await gw.command('stop'), 'stopped');

  // MQTT 5 (issue 26): a command stored for the offline box (retained) whose message expiry passes
  // before the box is back is never run; a live v5 request is answered on its response topic.
  const v5 = (id: string, more: string[]) => lab.exec('broker', ['mosquitto_pub', ...AUTH, '-V', '5', '-q', '1', '-t', 'postern/gw5/cmd', '-m', `{"id":"${id}","command":"report-now"}`, '-D', 'publish', 'response-topic', 'postern/gw5/reply/lab', '-D', 'publish', 'correlation-data', id, ...more]);
  t.equal((await v5('gone', ['-r', '-D', 'publish', 'message-expiry-interval', '1'])).code, 0);
  await sleep(1500);
  const back = await startGateway(lab, { deviceId: 'gw5', commandsEnabled: true, intervalSeconds: 3600 });
  await waitConnected(back);
  t.equal((await v5('live', ['-D', 'publish', 'message-expiry-interval', '30'])).code, 0);
  const live = await sub.waitFor('reply to the v5 request', (m) => m.topic.startsWith('postern/gw5/reply') && m.payload['id'] === 'live');
  t.match(live, { topic: 'postern/gw5/reply/lab', retained: false, payload: { schema: 1, id: 'live', ok: true } }, 'answered on its response topic');
  t.ok(sub.messages.some((m) => m.topic === 'postern/gw5/cmd' && m.payload['id'] === 'gone'), 'the stored command was published');
  t.same(sub.messages.filter((m) => m.topic.startsWith('postern/gw5/reply') && m.payload['id'] === 'gone'), [], 'the expired command was not run (commands run in order: it would have been answered first)');
  t.equal(await back.command('stop'), 'stopped');
});
