import t, { type Test } from 'tap';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { MqttTelemetry, publicUrl, type MqttTelemetryOptions, type TelemetrySources } from '../../../firmware/telemetry/mqtt-telemetry.ts';
import type { StatusMessage } from '../../../firmware/telemetry/schema.ts';
import { isPosternError, ErrorCode } from '../../../firmware/util/errors.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { fakeBroker, settle, type FakeLink } from './fake-link.ts';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const PASSWORD = 'Broker-Pass-9';
const T = {
  state: 'postern/gw/state', status: 'postern/gw/status', events: 'postern/gw/events',
  configVersion: 'postern/gw/config/version', cmd: 'postern/gw/cmd', reply: 'postern/gw/reply',
};

const status: StatusMessage = {
  schema: 1, ts: new Date(NOW).toISOString(), uptimeSeconds: 5, load: [0, 0, 0], memory: { totalBytes: 2, usedBytes: 1 },
  temperatures: [], interfaces: [], sessions: { ikev2: 0, sstp: 0, l2tp: 0, pptp: 0 }, tunnels: [],
};

function setup(t: Test, options: Partial<MqttTelemetryOptions> = {}, sources: Partial<TelemetrySources> = {}) {
  const broker = fakeBroker();
  const log = memorySink();
  const telemetry = new MqttTelemetry(
    { url: 'mqtts://fleet.example:8883', username: 'fleet', password: new Secret(PASSWORD), deviceId: 'gw', intervalSeconds: 60, ...options },
    {
      statusSource: async () => status, logger: createLogger({ level: 'debug', sink: log.sink }), clock: () => NOW, version: '1.0.0',
      link: broker.factory, backoff: { initialMs: 5, maxMs: 20, jitter: 0 }, ...sources,
    },
  );
  t.teardown(() => telemetry.stop());
  const link = (i: number): FakeLink => broker.links[i]!;
  return { telemetry, broker, link, log };
}

t.test('connects with a retained offline Will; on CONNACK: online and config/version retained, then a status', async (t) => {
  const { telemetry, link } = setup(t, {}, { revision: 4 });
  telemetry.start();
  const o = link(0).options;
  t.equal(o.url, 'mqtts://fleet.example:8883');
  t.equal(o.clientId, 'postern-gw');
  t.ok(o.password instanceof Secret && o.password.reveal() === PASSWORD, 'the password stays wrapped to the link');
  t.equal(o.will?.topic, T.state);
  t.same(JSON.parse(o.will?.payload ?? ''), { schema: 1, state: 'offline', ts: '2025-06-01T12:00:00.000Z', version: '1.0.0' });
  t.notOk(telemetry.connected);
  link(0).accept();
  await settle();
  t.ok(telemetry.connected);
  t.same(link(0).sent.map((s) => [s.topic, s.qos, s.retain]), [[T.state, 1, true], [T.configVersion, 1, true], [T.status, 0, false]]);
  t.match(link(0).on(T.state)[0], { schema: 1, state: 'online', version: '1.0.0' });
  t.match(link(0).on(T.configVersion)[0], { schema: 1, revision: 4 });
  t.same(link(0).subscribed, [], 'commands are off by default');
});

t.test('events wait for the broker, in order, and go out at QoS 1 after online', async (t) => {
  const { telemetry, link } = setup(t);
  t.equal(telemetry.event('session-up', { user: 'alice' }), 1);
  telemetry.start();
  t.equal(telemetry.event('auth-failure'), 2);
  t.match(telemetry.stats(), { buffered: 2, connected: false });
  link(0).accept();
  await settle();
  t.equal(telemetry.event('session-down'), 3, 'sent at once when connected');
  await settle();
  const events = link(0).sent.filter((s) => s.topic === T.events);
  t.same(events.map((e) => [e.qos, e.retain]), [[1, false], [1, false], [1, false]]);
  t.same(link(0).on(T.events).map((e) => [e['seq'], e['type']]), [[1, 'session-up'], [2, 'auth-failure'], [3, 'session-down']]);
  t.ok(link(0).sent.findIndex((s) => s.topic === T.state) < link(0).sent.findIndex((s) => s.topic === T.events), 'online first');
  t.match(telemetry.stats(), { buffered: 0, inflight: 0, eventsPublished: 3 });
});

t.test('unacknowledged events go out again, in order, on the next connection', async (t) => {
  const { telemetry, broker, link, log } = setup(t);
  telemetry.start();
  link(0).accept();
  await settle();
  link(0).autoAck = false;
  telemetry.event('rekey');
  telemetry.event('rekey');
  t.match(telemetry.stats(), { inflight: 2 });
  link(0).drop();
  telemetry.event('tunnel-down');
  t.match(telemetry.stats(), { connected: false, inflight: 0, buffered: 3 });
  t.match(log.records.find((r) => r.msg === 'telemetry connection lost'), { level: 'warn', retryInSeconds: Number });
  await new Promise((r) => setTimeout(r, 30));
  t.equal(broker.links.length, 2, 'a new connection after the backoff');
  link(1).accept();
  await settle();
  t.same(link(1).on(T.events).map((e) => e['seq']), [1, 2, 3]);
  t.match(telemetry.stats(), { connects: 2, buffered: 0, inflight: 0 });
});

t.test('a full buffer drops the oldest: the seq gap shows it', async (t) => {
  const { telemetry, link, log } = setup(t, {}, { bufferCapacity: 2 });
  for (let i = 0; i < 4; i++) telemetry.event('session-up');
  t.match(telemetry.stats(), { buffered: 2, dropped: 2 });
  t.equal(log.records.filter((r) => r.msg.includes('buffer full')).length, 1, 'warned once');
  telemetry.start();
  link(0).accept();
  await settle();
  t.same(link(0).on(T.events).map((e) => e['seq']), [3, 4]);
});

t.test('an unreachable broker is retried with backoff, quietly', async (t) => {
  const { telemetry, broker, link, log } = setup(t);
  telemetry.start();
  link(0).events.error(new Error('connect ECONNREFUSED'));
  link(0).drop();
  await new Promise((r) => setTimeout(r, 15));
  link(1).drop();
  await new Promise((r) => setTimeout(r, 30));
  t.ok(broker.links.length >= 3, `${broker.links.length} attempts`);
  const tries = log.records.filter((r) => r.msg === 'telemetry broker unreachable');
  t.match(tries[0], { level: 'info', error: 'connect ECONNREFUSED', retryInSeconds: 0 });
  t.match(telemetry.stats(), { connected: false, connects: 0, lastError: 'connect ECONNREFUSED' });
});

t.test('stop: offline retained, then a clean DISCONNECT; the password never reaches the log', async (t) => {
  const { telemetry, link, log } = setup(t, { url: `mqtt://fleet:${PASSWORD}@fleet.example` });
  telemetry.start();
  link(0).accept();
  await settle();
  await telemetry.stop();
  const last = link(0).sent.at(-1)!;
  t.same([last.topic, last.qos, last.retain], [T.state, 1, true]);
  t.match(JSON.parse(last.payload), { state: 'offline' });
  t.ok(link(0).ended, 'ended cleanly, so the broker drops the Will');
  t.notOk(telemetry.connected);
  t.notOk(JSON.stringify(log.records).includes(PASSWORD), 'no password in any record');
  t.equal(publicUrl(`mqtt://fleet:${PASSWORD}@fleet.example:1883`), 'mqtt://fleet.example:1883');
});

t.test('commands off by default: nothing subscribed, nothing answered', async (t) => {
  const { telemetry, link } = setup(t);
  telemetry.start();
  link(0).accept();
  await settle();
  link(0).message(T.cmd, '{"id":"1","command":"report-now"}');
  await settle();
  t.same(link(0).on(T.reply), []);
});

t.test('commands on: subscribed before online; replies; malformed counted; handlers injected', async (t) => {
  const sessions: unknown[] = [];
  const { telemetry, link } = setup(t, { commandsEnabled: true }, {
    commands: { 'disconnect-session': async (args) => void sessions.push(args) },
  });
  telemetry.start();
  link(0).accept();
  await settle();
  t.same(link(0).subscribed, [T.cmd]);
  const statuses = link(0).on(T.status).length;
  link(0).message(T.cmd, '{"id":"a","command":"report-now"}');
  link(0).message(T.cmd, '{"id":"b","command":"disconnect-session","args":{"session":"s1"}}');
  link(0).message(T.cmd, '{"id":"c","command":"reboot"}');
  link(0).message(T.cmd, '{oops');
  link(0).message(T.status, '{"id":"d","command":"report-now"}');
  await settle();
  t.equal(link(0).on(T.status).length, statuses + 1, 'report-now published a status');
  t.same(sessions, [{ session: 's1' }]);
  t.same(link(0).on(T.reply).sort((x, y) => String(x['id']).localeCompare(String(y['id']))), [
    { schema: 1, id: 'a', ok: true },
    { schema: 1, id: 'b', ok: true },
    { schema: 1, id: 'c', ok: false, error: 'unknown command "reboot"' },
  ]);
  t.match(telemetry.stats(), { malformedCommands: 1, commandsAnswered: 3 });
});

t.test('MQTT 5 requests: the reply on the response topic with the correlation data; expired commands not run', async (t) => {
  let now = NOW;
  const ran: unknown[] = [];
  let release: () => void = () => undefined;
  const { telemetry, link } = setup(t, { commandsEnabled: true }, {
    clock: () => now,
    commands: {
      'disconnect-session': async (args) => {
        ran.push(args);
        if ((args as { slow?: boolean }).slow) await new Promise<void>((r) => { release = r; });
      },
    },
  });
  telemetry.start();
  link(0).accept();
  await settle();
  const cd = Buffer.from([0, 1, 2, 0xff]);
  link(0).message(T.cmd, '{"id":"v5","command":"report-now"}', { responseTopic: `${T.reply}/console-1`, correlationData: cd, messageExpiryInterval: 30 });
  link(0).message(T.cmd, '{"id":"v3","command":"report-now"}');
  await settle();
  const replies = link(0).sent.filter((m) => m.topic.startsWith(T.reply));
  t.same(replies.map((m) => [m.topic, JSON.parse(m.payload).id, m.correlationData?.toString('hex')]), [[`${T.reply}/console-1`, 'v5', '000102ff'], [T.reply, 'v3', undefined]], 'v5 on its response topic with its correlation data; v3 on the reply topic');
  link(0).message(T.cmd, '{"id":"evil","command":"report-now"}', { responseTopic: 'postern/gw/state', correlationData: cd });
  await settle();
  t.match(link(0).on(T.reply).at(-1), { id: 'evil', ok: false, error: /response topic must be postern\/gw\/reply/ }, 'a response topic elsewhere: refused on the reply topic, not run');
  t.same(link(0).on('postern/gw/state').filter((m) => m['id'] === 'evil'), []);

  // One at a time: a command whose expiry passes while it waits is not run.
  link(0).message(T.cmd, '{"id":"slow","command":"disconnect-session","args":{"slow":true}}');
  link(0).message(T.cmd, '{"id":"short","command":"disconnect-session","args":{"n":1}}', { messageExpiryInterval: 2 });
  link(0).message(T.cmd, '{"id":"long","command":"disconnect-session","args":{"n":2}}', { messageExpiryInterval: 60 });
  await settle();
  now += 5000;
  release();
  await settle();
  t.same(ran, [{ slow: true }, { n: 2 }], 'the expired one was not run');
  t.same(link(0).on(T.reply).slice(-2).map((m) => m['id']), ['slow', 'long'], 'nor answered');
  link(0).message(T.cmd, '{"id":"zero","command":"report-now"}', { messageExpiryInterval: 0 });
  link(0).message(T.cmd, '{"id":"stored","command":"report-now"}', {}, true);
  link(0).message(T.cmd, '{"id":"stored-live","command":"report-now"}', { messageExpiryInterval: 10 }, true);
  await settle();
  t.same(link(0).on(T.reply).slice(-1).map((m) => m['id']), ['stored-live'], 'no time left, or retained without an expiry (it would run at every connect): not run');
  t.match(telemetry.stats(), { expiredCommands: 3 });
});

t.test('a failing status source is logged; telemetry carries on', async (t) => {
  const { telemetry, link, log } = setup(t, {}, { statusSource: async () => Promise.reject(new Error('sensor gone')) });
  telemetry.start();
  link(0).accept();
  await settle();
  t.match(log.records.find((r) => r.msg === 'telemetry status report failed'), { error: { message: 'sensor gone' } });
  telemetry.event('rekey');
  t.equal(link(0).on(T.events).length, 1);
});

t.test('config changes update the retained revision and raise an event', async (t) => {
  const { telemetry, link } = setup(t, {}, { revision: 1 });
  telemetry.start();
  link(0).accept();
  await settle();
  telemetry.configChanged(2);
  await settle();
  t.same(link(0).on(T.configVersion).map((m) => m['revision']), [1, 2]);
  t.match(link(0).on(T.events)[0], { type: 'config-change', details: { revision: 2 } });
});

t.test('the backlog of a stopped instance carries over, sequence numbers too', async (t) => {
  const first = setup(t);
  first.telemetry.event('session-up');
  first.telemetry.event('session-up');
  await first.telemetry.stop();
  first.telemetry.start();
  await first.telemetry.stop();
  const backlog = first.telemetry.takeBacklog();
  t.same(backlog.events.map((e) => e.seq), [1, 2]);
  const second = setup(t, {}, { backlog });
  second.telemetry.start();
  t.equal(second.telemetry.event('session-down'), 3);
  second.link(0).accept();
  await settle();
  t.same(second.link(0).on(T.events).map((e) => e['seq']), [1, 2, 3]);
});

t.test('options no connection could use are refused with a stable code', async (t) => {
  const make = (o: Partial<MqttTelemetryOptions>) => () => setup(t, o);
  for (const [why, o] of [
    ['http URL', { url: 'http://fleet.example' }],
    ['not a URL', { url: 'fleet.example' }],
    ['wildcard device', { deviceId: 'gw/#' }],
    ['empty prefix', { prefix: '' }],
    ['zero interval', { intervalSeconds: 0 }],
  ] as const) {
    let caught: unknown;
    try {
      make(o)();
    } catch (error) {
      caught = error;
    }
    t.ok(isPosternError(caught, ErrorCode.configInvalid), why);
  }
});
