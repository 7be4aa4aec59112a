// Issue 26: the fleet agent in the real service (store, applyConfig, safe mode; only the web
// subsystem running): signed documents applied and reported, refusals reported with their fields,
// safe mode confirmed by a new broker connection or reverted without one, the ledger surviving a restart.
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import type { PosternConfig, TelemetryConfig } from '../../../firmware/config/types.ts';
import { rawPublicKey, signEnvelope, type DesiredPayload } from '../../../firmware/fleet/envelope.ts';
import type { ReportedMessage } from '../../../firmware/fleet/reported.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Service } from '../../../firmware/service.ts';
import type { TelemetryExtension } from '../../../firmware/telemetry/mqtt-telemetry.ts';
import { tempDir } from '../../helpers/tmp.ts';

const operator = generateKeyPairSync('ed25519');
const settings = (confirmSeconds = 60): TelemetryConfig['mqtt'] => ({
  enabled: true, url: 'mqtt://127.0.0.1:1', prefix: 'postern', deviceId: 'shop-17', intervalSeconds: 60, commandsEnabled: false,
  fleet: { enabled: true, operatorKeys: [rawPublicKey(operator.publicKey).toString('base64')], groups: ['shops'], confirmSeconds },
});

async function start(stateDir: string, confirmSeconds?: number) {
  const { sink, records } = memorySink();
  const service = await Service.start({ stateDir, logger: createLogger({ sink }), management: { host: '127.0.0.1', port: 0 }, only: ['web'] });
  const ext = service.fleet.extension(settings(confirmSeconds)) as TelemetryExtension;
  const sent: ReportedMessage[] = [];
  const connect = () => ext.connected(async (topic, payload) => {
    if (topic === 'postern/shop-17/reported') sent.push(JSON.parse(payload) as ReportedMessage);
  });
  connect();
  const deliver = async (text: string, topic = 'postern/shop-17/desired') => {
    const before = sent.length;
    ext.message(topic, Buffer.from(text), false);
    const deadline = Date.now() + 5000;
    while (sent.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return sent.at(-1)!;
  };
  return { service, records, ext, sent, deliver, connect };
}

let seq = 100;
const signed = (doc: Partial<DesiredPayload>, sequence = ++seq) => signEnvelope({
  type: 'postern-desired', target: { serial: 'shop-17' }, sequence, issuedAt: Date.now(), expiresAt: Date.now() + 600_000, revision: `r${sequence}`,
  kind: 'document', document: {}, ...doc,
} as DesiredPayload, operator.privateKey);
const withHostname = (config: PosternConfig, hostname: string) => ({ ...structuredClone(config), system: { ...config.system, hostname } });

t.test('applied and reported; replay refused; an invalid document refused at its field; a patch on its base', async (t) => {
  const stateDir = tempDir(t);
  const { service, deliver, records } = await start(stateDir);
  t.teardown(() => service.stop());
  const current = service.store.current().config;
  const first = signed({ document: withHostname(current, 'shop17') as unknown as Record<string, unknown> });
  const r1 = await deliver(first);
  t.match(r1, { schema: 1, serial: 'shop-17', applied: { revision: `r${seq}`, sequence: seq, confirmed: true, payloadSha256: /^[0-9a-f]{64}$/ }, last: { outcome: 'applied', sequence: seq } });
  t.equal(service.store.current().config.system.hostname, 'shop17', 'the change runs');
  t.equal(service.store.current().author, 'fleet');
  t.equal(r1.applied?.configRevision, service.store.current().revision);
  const firstSeq = seq;

  const second = signed({ kind: 'patch', base: `r${firstSeq}`, patch: { system: { hostname: 'shop17b' } } } as Partial<DesiredPayload>);
  t.match(await deliver(second), { last: { outcome: 'applied' }, applied: { revision: `r${seq}` } }, 'a merge patch against the applied revision');
  t.equal(service.store.current().config.system.hostname, 'shop17b');

  t.match(await deliver(first), { last: { outcome: 'refused', code: 'replay', sequence: firstSeq }, applied: { revision: `r${seq}` } }, 'the first one sent again: a replay; applied unchanged');
  const stalePatch = signed({ kind: 'patch', base: `r${firstSeq}`, patch: { system: { hostname: 'x' } } } as Partial<DesiredPayload>);
  t.match(await deliver(stalePatch), { last: { outcome: 'refused', code: 'base-mismatch' } }, 'a patch against a revision no longer applied');

  const bad = signed({ document: { ...withHostname(current, 'ok'), pools: [{ name: 'clients', range: '300.1.1.0/24' }] } as unknown as Record<string, unknown> });
  const refused = await deliver(bad);
  t.match(refused, { last: { outcome: 'refused', code: 'invalid' } });
  t.ok(refused.last.errors?.some((e) => e.path.startsWith('pools[0]')), `the error at its field: ${JSON.stringify(refused.last.errors)}`);
  t.equal(service.store.current().config.system.hostname, 'shop17b', 'nothing changed');

  const forged = signEnvelope({ type: 'postern-desired', target: { serial: 'shop-17' }, sequence: ++seq, issuedAt: Date.now(), expiresAt: Date.now() + 60_000, revision: 'evil', kind: 'document', document: {} }, generateKeyPairSync('ed25519').privateKey);
  t.match(await deliver(forged), { last: { outcome: 'refused', code: 'unknown-key' } });
  t.ok(records.some((r) => r.msg === 'fleet: desired configuration refused'), 'refusals logged');
  t.match(service.health()['fleet'], { counters: { accepted: 4, applied: 2, refused: 4, 'refused.replay': 1, 'refused.unknown-key': 1, 'refused.invalid': 1, 'refused.base-mismatch': 1 } }, 'and counted by cause in /healthz');
  await service.stop();

  // A restart keeps the ledger: the old document is still a replay.
  const again = await start(stateDir);
  t.teardown(() => again.service.stop());
  t.match(await again.deliver(first), { last: { outcome: 'refused', code: 'replay' } }, 'after a restart too');
});

t.test('safe mode: an MQTT change confirmed by the next connection, or reverted without one', async (t) => {
  const { service, deliver, connect, sent } = await start(tempDir(t), 1);
  t.teardown(() => service.stop());
  const current = service.store.current().config;
  const mqttChange = (interval: number) => ({ ...structuredClone(current), telemetry: { mqtt: { ...current.telemetry.mqtt, intervalSeconds: interval } } }) as unknown as Record<string, unknown>;
  const pending = await deliver(signed({ document: mqttChange(30) }));
  t.match(pending, { last: { outcome: 'pending-confirmation', safeMode: ['telemetry.mqtt'] }, applied: { confirmed: false } });
  t.ok(service.safeMode.pending, 'safe mode waits');
  connect();
  await new Promise((r) => setTimeout(r, 50));
  t.match(sent.at(-1), { last: { outcome: 'applied' }, applied: { confirmed: true } }, 'the reconnect confirmed it');
  t.equal(service.safeMode.pending, undefined);
  t.equal(service.store.current().config.telemetry.mqtt.intervalSeconds, 30);

  const revision = service.store.current().revision;
  t.match(await deliver(signed({ document: mqttChange(45) })), { last: { outcome: 'pending-confirmation' } });
  const deadline = Date.now() + 10_000;
  while (sent.at(-1)?.last.outcome !== 'reverted' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(sent.at(-1), { last: { outcome: 'reverted', reason: /did not reach its broker/ }, applied: { confirmed: true, configRevision: revision } }, 'no connection within 1 s: reverted, and the applied state is the one before');
  t.equal(service.store.current().config.telemetry.mqtt.intervalSeconds, 30, 'the configuration is back');
});
