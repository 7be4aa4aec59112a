// Issue 26: the fleet agent in the real service (store, applyConfig, safe mode; only the web
// subsystem running): signed documents applied and reported, refusals reported with their fields,
// safe mode confirmed by a new broker connection or reverted without one, the ledger surviving a restart.
import { generateKeyPairSync } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { PosternConfig, TelemetryConfig } from '../../../firmware/config/types.ts';
import { rawPublicKey, signEnvelope, type DesiredPayload } from '../../../firmware/fleet/envelope.ts';
import { lastAfterRestart, readLastRefused, writeLastRefused } from '../../../firmware/fleet/last-refused-file.ts';
import type { LastOutcome, ReportedMessage } from '../../../firmware/fleet/reported.ts';
import { signVariables } from '../../../firmware/fleet/variables.ts';
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
  t.ok(refused.last?.errors?.some((e) => e.path.startsWith('pools[0]')), `the error at its field: ${JSON.stringify(refused.last?.errors)}`);
  t.equal(service.store.current().config.system.hostname, 'shop17b', 'nothing changed');

  const forged = signEnvelope({ type: 'postern-desired', target: { serial: 'shop-17' }, sequence: ++seq, issuedAt: Date.now(), expiresAt: Date.now() + 60_000, revision: 'evil', kind: 'document', document: {} }, generateKeyPairSync('ed25519').privateKey);
  t.match(await deliver(forged), { last: { outcome: 'refused', code: 'unknown-key' } });
  t.ok(records.some((r) => r.msg === 'fleet: desired configuration refused'), 'refusals logged');
  t.match(service.health()['fleet'], { counters: { accepted: 4, applied: 2, refused: 4, 'refused.replay': 1, 'refused.unknown-key': 1, 'refused.invalid': 1, 'refused.base-mismatch': 1 } }, 'and counted by cause in /healthz');
  const third = signed({ kind: 'patch', base: `r${firstSeq + 1}`, patch: { system: { hostname: 'shop17c' } } } as Partial<DesiredPayload>);
  t.match(await deliver(third), { last: { outcome: 'applied' } });
  t.match(service.fleetView(), { applied: { revision: `r${seq}` }, last: { outcome: 'applied' }, lastRefused: { outcome: 'refused', code: 'unknown-key' } }, 'the Fleet page: the last refusal is kept after a later document applied');
  t.match(service.health()['fleet'], { applied: { revision: `r${seq}` }, lastRefused: { code: 'unknown-key' }, enrollment: { state: 'not-configured' } }, 'and /healthz sums it up');
  await service.stop();

  // A restart keeps the ledger: the old document is still a replay. And the last refusal: shown on the
  // Fleet page, but not reported as the last outcome (a document applied after it).
  const again = await start(stateDir);
  t.teardown(() => again.service.stop());
  t.match(again.service.fleetView(), { lastRefused: { outcome: 'refused', code: 'unknown-key' } }, 'the last refusal kept across the restart');
  t.equal(again.service.fleetView().last, undefined, 'not the last outcome: r' + seq + ' applied after it');
  t.equal(again.sent.at(-1)?.last, undefined, 'nor reported as one on the connect');
  t.match(await again.deliver(first), { last: { outcome: 'refused', code: 'replay' } }, 'after a restart too');
  await again.service.stop();

  // The refusal the box heard last is still its last outcome after a restart: reported again on the connect.
  const third2 = await start(stateDir);
  t.teardown(() => third2.service.stop());
  const deadline = Date.now() + 5000;
  while (third2.sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.match(third2.sent.at(-1), { last: { outcome: 'refused', code: 'replay', sequence: firstSeq }, applied: { revision: `r${seq}` } }, 'the replay refused before the restart, reported after it');
  t.match(third2.service.health()['fleet'], { lastRefused: { code: 'replay' } }, '/healthz too');
});

t.test('the last refusal on disk: read back whatever its state', async (t) => {
  const stateDir = tempDir(t);
  const at = '2026-12-06T00:00:00.000Z';
  t.same(readLastRefused(stateDir), { ok: true, last: undefined }, 'none yet');
  writeLastRefused(stateDir, { outcome: 'refused', code: 'invalid', reason: 'the document is not valid', errors: [{ path: 'system.lan.address', code: 'format', message: 'x' }], at });
  t.match(readLastRefused(stateDir), { ok: true, last: { outcome: 'refused', code: 'invalid', errors: [{ path: 'system.lan.address' }], at } });
  t.equal(statSync(join(stateDir, 'fleet', 'last-refused.json')).mode & 0o777, 0o600, '0600: field errors may quote values');
  t.equal(lastAfterRestart(readLastRefused(stateDir).ok ? (readLastRefused(stateDir) as { last: LastOutcome }).last : undefined, '2026-12-05T00:00:00.000Z')?.code, 'invalid', 'the last outcome when applied before it');
  t.equal(lastAfterRestart({ outcome: 'refused', at }, '2026-12-07T00:00:00.000Z'), undefined, 'not when applied after it');
  for (const text of ['{', '[]', 'null', '{"outcome":"maybe","at":"2026-12-06T00:00:00Z"}', '{"outcome":"refused","at":"yesterday"}', '{"outcome":"refused"}']) {
    writeFileSync(join(stateDir, 'fleet', 'last-refused.json'), text);
    t.equal(readLastRefused(stateDir).ok, false, `set aside: ${text}`);
  }
  // And a box with such a file starts, says why, and reports no refusal.
  const { service, records } = await start(stateDir);
  t.teardown(() => service.stop());
  t.equal(service.fleetView().lastRefused, undefined);
  t.ok(records.some((r) => r.msg === 'fleet: the last refusal could not be read back'), 'logged');
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
  while (sent.at(-1)?.last?.outcome !== 'reverted' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(sent.at(-1), { last: { outcome: 'reverted', reason: /did not reach its broker/ }, applied: { confirmed: true, configRevision: revision } }, 'no connection within 1 s: reverted, and the applied state is the one before');
  t.equal(service.store.current().config.telemetry.mqtt.intervalSeconds, 30, 'the configuration is back');
});

t.test('drift: a local change reported by section; kept, or undone where desired state wins; after a restart too', async (t) => {
  const stateDir = tempDir(t);
  const { service, deliver, sent, connect } = await start(stateDir);
  t.teardown(() => service.stop());
  const current = service.store.current().config;
  const r1 = await deliver(signed({ document: withHostname(current, 'shop17') as unknown as Record<string, unknown> }));
  t.equal(r1.drift, undefined, 'no drift right after an apply');
  const nextReport = async (list: ReportedMessage[], what: (r: ReportedMessage) => boolean) => {
    const deadline = Date.now() + 5000;
    while (!(list.length > 0 && what(list.at(-1)!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return list.at(-1)!;
  };
  const local = (s: Service, hostname: string) => s.applyConfig(withHostname(s.store.current().config, hostname), { author: 'admin', comment: 'by hand' });
  t.ok((await local(service, 'by-hand')).ok);
  const drifted = await nextReport(sent, (r) => r.drift !== undefined);
  t.match(service.fleetView(), { drift: { sections: ['system'] }, onLocalChange: { value: 'keep', source: 'default' } }, 'the Fleet page shows the drift');
  t.match(drifted, { applied: { revision: r1.applied!.revision }, last: { outcome: 'applied' }, drift: { configRevision: service.store.current().revision, author: 'admin', sections: ['system'] } }, 'keep (the default): reported as drift');
  t.equal(service.store.current().config.system.hostname, 'by-hand', 'and kept');
  await local(service, 'shop17');
  t.equal((await nextReport(sent, (r) => r.drift === undefined)).drift, undefined, 'changed back by hand: no drift');

  // The operator chooses desired-wins for this box by a desired patch (an MQTT setting: safe mode, confirmed by a reconnect).
  const wins = await deliver(signed({ kind: 'patch', base: r1.applied!.revision, patch: { telemetry: { mqtt: { enabled: true, url: 'mqtt://127.0.0.1:1', fleet: { ...settings().fleet, onLocalChange: 'desired-wins' } } } } } as Partial<DesiredPayload>));
  t.match(wins, { last: { outcome: 'pending-confirmation' } }, JSON.stringify(wins.last));
  connect();
  const confirmed = await nextReport(sent, (r) => r.applied?.confirmed === true);
  t.equal(service.store.current().config.telemetry.mqtt.fleet?.onLocalChange, 'desired-wins');
  t.ok((await local(service, 'by-hand-2')).ok);
  const reapplied = await nextReport(sent, (r) => r.last?.outcome === 'reapplied');
  t.match(reapplied, { last: { outcome: 'reapplied', revision: confirmed.applied!.revision, reason: /local change by admin to system was undone/ }, applied: { revision: confirmed.applied!.revision, configRevision: service.store.current().revision } }, 'desired-wins: undone and reported as such');
  t.equal(reapplied.drift, undefined);
  t.same(service.fleetView().onLocalChange, { value: 'desired-wins', source: 'desired' }, 'the operator chose it: the page cannot change it');
  t.match(await service.fleet.setLocalChoice('keep', 'admin'), { ok: false, why: /operator's desired document/ }, 'the box\'s own choice is refused');
  t.equal(service.store.current().config.system.hostname, 'shop17', 'the desired configuration runs again');
  t.equal(service.store.current().author, 'fleet');
  t.match(service.fleet.counters, { drifted: 2, reapplied: 1 });
  await service.stop();

  // A restart: the applied state is kept, and a change made while the service was down is drift at the next connect.
  const revision = service.store.current().revision;
  const again = await start(stateDir);
  t.teardown(() => again.service.stop());
  t.match(await nextReport(again.sent, (r) => r.applied !== undefined), { applied: { revision: confirmed.applied!.revision, configRevision: revision } }, 'reported on connect after a restart');
  const keep = await again.service.applyConfig({ ...withHostname(again.service.store.current().config, 'x'), telemetry: { mqtt: { ...again.service.store.current().config.telemetry.mqtt, fleet: { ...again.service.store.current().config.telemetry.mqtt.fleet!, enabled: false } } } }, { author: 'admin' });
  t.ok(keep.ok, 'fleet turned off locally');
  t.match(await nextReport(again.sent, (r) => r.drift !== undefined), { drift: { sections: ['system', 'telemetry'] } }, 'the way out of the fleet is never undone, only reported');
});

t.test('templates: a group document waits for the box\'s variables, then is filled and applied, and again when they change', async (t) => {
  const stateDir = tempDir(t);
  const { service, deliver } = await start(stateDir);
  t.teardown(() => service.stop());
  const current = service.store.current().config;
  const group = signed({ target: { group: 'shops' }, document: { ...withHostname(current, '{{var.name}}'), system: { ...current.system, hostname: '{{var.name}}', lan: { ...current.system.lan, address: '{{var.lan}}' } } } as unknown as Record<string, unknown> });
  const groupSeq = seq;
  const refused = await deliver(group, 'postern/group/shops/desired');
  t.match(refused, { last: { outcome: 'refused', code: 'variable-missing', revision: `r${groupSeq}` } });
  t.same(refused.last?.errors?.map((e) => e.path), ['system.hostname', 'system.lan.address'], 'each missing variable at its field');
  const variables = (sequence: number, values: Record<string, string>) => signVariables({ type: 'postern-variables', target: { serial: 'shop-17' }, sequence, issuedAt: Date.now(), expiresAt: Date.now() + 600_000, variables: values }, operator.privateKey);
  const applied = await deliver(variables(1, { name: 'shop17', lan: '10.17.0.1/24' }), 'postern/shop-17/variables');
  t.match(applied, { variables: { sequence: 1 }, applied: { revision: `r${groupSeq}`, variablesSequence: 1 }, last: { outcome: 'applied', variablesSequence: 1 } }, 'the variables arrived: the waiting document applied');
  t.equal(service.store.current().config.system.hostname, 'shop17');
  t.equal(service.store.current().config.system.lan.address, '10.17.0.1/24');
  const renamed = await deliver(variables(2, { name: 'shop17b', lan: '10.17.0.1/24' }), 'postern/shop-17/variables');
  t.match(renamed, { applied: { revision: `r${groupSeq}`, variablesSequence: 2 }, last: { outcome: 'applied' } }, 'new variables: the document filled again');
  t.equal(service.store.current().config.system.hostname, 'shop17b');
  t.match(await deliver(variables(1, { name: 'old', lan: '10.0.0.1/24' }), 'postern/shop-17/variables'), { last: { outcome: 'refused', code: 'rollback', about: 'variables' } }, 'their own sequence: an older one refused');
  const intruder = generateKeyPairSync('ed25519').privateKey;
  t.match(await deliver(signVariables({ type: 'postern-variables', target: { serial: 'shop-17' }, sequence: 3, issuedAt: Date.now(), expiresAt: Date.now() + 600_000, variables: { name: 'evil' } }, intruder), 'postern/shop-17/variables'), { last: { code: 'unknown-key', about: 'variables' } });
  t.equal(service.store.current().config.system.hostname, 'shop17b', 'nothing changed');
  t.same(service.fleetView().variables?.shown, [{ name: 'lan', value: '10.17.0.1/24' }, { name: 'name', value: 'shop17b' }], 'the Fleet page shows the variables in use (no secret field takes them)');
  t.match(service.fleetView().lastRefused, { about: 'variables', code: 'unknown-key' });
  await service.stop();
  const again = await start(stateDir);
  t.teardown(() => again.service.stop());
  t.match(await again.deliver(variables(4, { name: 'shop17c', lan: '10.17.0.1/24' }), 'postern/shop-17/variables'), { applied: { revision: `r${groupSeq}`, variablesSequence: 4 } }, 'after a restart, new variables fill the kept document again');
  t.equal(again.service.store.current().config.system.hostname, 'shop17c');
  const next = signed({ target: { group: 'shops' }, kind: 'patch', base: `r${groupSeq}`, patch: { system: { hostname: '{{var.name}}-x' } } } as Partial<DesiredPayload>);
  t.match(await again.deliver(next, 'postern/group/shops/desired'), { last: { outcome: 'applied', variablesSequence: 4 } }, 'the variables are kept across a restart');
  t.equal(again.service.store.current().config.system.hostname, 'shop17c-x');
});
