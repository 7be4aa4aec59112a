import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig, TelemetryConfig } from '../../../firmware/config/types.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Supervisor } from '../../../firmware/supervisor/supervisor.ts';
import type { StatusMessage } from '../../../firmware/telemetry/schema.ts';
import { telemetryOptions, telemetrySpec, TelemetrySubsystem } from '../../../firmware/telemetry/telemetry-subsystem.ts';
import { ErrorCode, isPosternError } from '../../../firmware/util/errors.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { fakeBroker, settle } from './fake-link.ts';

const withMqtt = (c: PosternConfig, mqtt: Partial<TelemetryConfig['mqtt']>): PosternConfig => ({
  ...c, telemetry: { mqtt: { ...c.telemetry.mqtt, ...mqtt } },
});
const base = withMqtt(defaultConfig(), { enabled: true, url: 'mqtt://broker.example', deviceId: 'gw', password: 'Sub-Pass-3' });
const status = async (): Promise<StatusMessage> => ({
  schema: 1, ts: '', uptimeSeconds: 0, load: [0, 0, 0], memory: { totalBytes: 0, usedBytes: 0 },
  temperatures: [], interfaces: [], sessions: { ikev2: 0, sstp: 0, l2tp: 0, pptp: 0 }, tunnels: [],
});

function setup() {
  const broker = fakeBroker();
  const log = memorySink();
  const logger = createLogger({ level: 'debug', sink: log.sink });
  const subsystem = new TelemetrySubsystem({ logger, statusSource: status, link: broker.factory, revision: () => 9 });
  const supervisor = new Supervisor([telemetrySpec(subsystem)], logger);
  return { broker, log, subsystem, supervisor };
}

t.test('options from the configuration: password wrapped, certificate resolved by name', async (t) => {
  const o = telemetryOptions(base.telemetry.mqtt);
  t.ok(o.password instanceof Secret);
  t.match(o, { url: 'mqtt://broker.example', prefix: 'postern', deviceId: 'gw', intervalSeconds: 60, commandsEnabled: false });
  const cert = { cert: 'PEM', key: new Secret('KEY') };
  t.equal(telemetryOptions({ ...base.telemetry.mqtt, clientCertificate: 'gw-client' }, (n) => (n === 'gw-client' ? cert : undefined)).clientCertificate, cert);
  let caught: unknown;
  try {
    telemetryOptions({ ...base.telemetry.mqtt, clientCertificate: 'missing' }, () => undefined);
  } catch (error) {
    caught = error;
  }
  t.ok(isPosternError(caught, ErrorCode.configInvalid), 'an unknown certificate is refused');
});

t.test('supervised: runs while enabled, reports its connection, stops when disabled', async (t) => {
  const { broker, subsystem, supervisor } = setup();
  t.teardown(() => supervisor.stop());
  await supervisor.start(defaultConfig());
  t.equal(broker.links.length, 0, 'off by default');
  await supervisor.apply(base, defaultConfig());
  t.match(subsystem.status(), { state: 'starting', detail: /connecting to mqtt:\/\/broker\.example/ });
  broker.links[0]!.accept();
  await settle();
  t.match(supervisor.status()['telemetry'], { state: 'running', detail: /connected/ });
  t.match(broker.links[0]!.on('postern/gw/config/version')[0], { revision: 9 });
  subsystem.event('session-up', { user: 'alice' });
  t.equal(broker.links[0]!.on('postern/gw/events').length, 1);
  await supervisor.apply(withMqtt(base, { enabled: false }), base);
  t.ok(broker.links[0]!.ended, 'disconnected cleanly');
  t.same(subsystem.status(), { state: 'stopped' });
  subsystem.event('session-down'); // off: nothing to do
});

t.test('events raised before telemetry first starts (subsystems ahead of it at boot) are sent once it does', async (t) => {
  const { broker, subsystem, supervisor } = setup();
  t.teardown(() => supervisor.stop());
  subsystem.event('tunnel-up', { protocol: 'gre', site: 'hq' });
  await supervisor.start(base);
  broker.links[0]!.accept();
  await settle();
  t.same(broker.links[0]!.on('postern/gw/events').map((e) => e['type']), ['tunnel-up']);
});

t.test('a change of settings replaces the connection and carries unsent events over', async (t) => {
  const { broker, subsystem, supervisor } = setup();
  t.teardown(() => supervisor.stop());
  await supervisor.start(base);
  subsystem.event('auth-failure'); // the broker never answered
  const moved = withMqtt(base, { deviceId: 'gw-new' });
  await supervisor.apply(moved, base);
  t.equal(broker.links.length, 2);
  broker.links[1]!.accept();
  await settle();
  t.same(broker.links[1]!.on('postern/gw-new/events').map((e) => [e['seq'], e['type']]), [[1, 'auth-failure']]);
  await supervisor.apply(moved, moved);
  t.equal(broker.links.length, 2, 'an unrelated change leaves the connection alone');
});

t.test('bad settings on a change keep the running connection', async (t) => {
  const { broker, subsystem, supervisor } = setup();
  t.teardown(() => supervisor.stop());
  await supervisor.start(base);
  const bad = withMqtt(base, { url: 'http://broker.example' });
  await t.rejects(supervisor.apply(bad, base), { code: ErrorCode.configInvalid });
  t.equal(broker.links.length, 1);
  t.notOk(broker.links[0]!.dead, 'still connecting to the old broker');
  t.match(subsystem.status(), { state: 'starting' });
});
