// Issue 26: fleet configuration over MQTT against a real mosquitto and `postern run`. The operator's
// console (scripts/fleet-console.ts, run in the broker's host as an operator would) signs and
// publishes; an independent mosquitto_sub records the box's retained reported state. Proven: a signed
// document applied and reported, a group patch on its named base, a replayed, a wrongly signed, a
// forged and an invalid one refused and reported (the invalid one at its field), and an MQTT change
// that cuts the box off its broker (a wrong password) reverted by safe mode by itself and reported.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { cleanEnv } from '../helpers/env.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot, run } from '../lab/command.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';

const missing = ['mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'mosquitto_passwd'].filter((b) => !hasBinary(b));
const skip = labSkip(!isRoot() ? 'needs root (network namespaces)' : missing.length ? `not installed: ${missing.join(', ')}` : false);

const BROKER = '10.9.3.1';
const BOX_PASSWORD = 'Box-Telemetry-Pass-26';
const CONSOLE_PASSWORD = 'Console-Pass-26';
const pair: TopologySpec = { hosts: { broker: {}, gw: {} }, links: { net0: { a: ['broker', `${BROKER}/24`], b: ['gw', '10.9.3.2/24'] } } };

interface Reported { readonly applied?: { revision: string; configRevision: number; confirmed: boolean }; readonly last: { outcome: string; code?: string; revision?: string; errors?: Array<{ path: string }> } }

t.test('signed desired configuration: applied, refused, reverted by safe mode, each reported', { skip }, async (t) => {
  t.setTimeout(90_000);
  const started = Date.now();
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  // The ACL docs/fleet.md documents: each box its own topics and its groups' desired, the console all.
  const acl = readFileSync('docs/fleet.md', 'utf8').match(/# every box\n[\s\S]*?topic readwrite postern\/#\n/)?.[0];
  t.ok(acl, 'the ACL from docs/fleet.md');
  const broker = await Mosquitto.start(lab, 'broker', { address: BROKER, users: { 'shop-17': BOX_PASSWORD, console: CONSOLE_PASSWORD }, acl: acl! });
  const dir = lab.subdir('console');
  const consoleRun = (args: string[], timeoutMs = 20_000) =>
    run(['ip', 'netns', 'exec', lab.ns('broker'), process.execPath, '--import', 'tsx', resolve('scripts/fleet-console.ts'), ...args], timeoutMs, cleanEnv({ POSTERN_FLEET_PASSWORD: CONSOLE_PASSWORD }));
  const keygen = await consoleRun(['keygen', join(dir, 'operator')]);
  t.equal(keygen.code, 0, keygen.stderr);
  const { operatorKey } = JSON.parse(keygen.stdout) as { operatorKey: string };
  t.equal((await consoleRun(['keygen', join(dir, 'intruder')])).code, 0);

  const config = defaultConfig();
  config.system.wan = { interface: 'net0', mode: 'dhcp' };
  config.system.management = { listen: '127.0.0.1', port: 18026, https: false };
  config.admin.passwordHash = hashPassword('Admin-Pass-1234');
  config.listeners.ikev2.enabled = false;
  config.listeners.sstp.enabled = false;
  config.telemetry.mqtt = {
    enabled: true, url: `mqtt://${BROKER}:1883`, username: 'shop-17', password: BOX_PASSWORD, prefix: 'postern', deviceId: 'shop-17', intervalSeconds: 60, commandsEnabled: false,
    fleet: { enabled: true, operatorKeys: [operatorKey], groups: ['shops'], confirmSeconds: 5 },
  };
  const postern = await startPostern(lab, 'gw', config, (log) => log.includes('"msg":"telemetry connected"'));

  // The console's view: every retained reported state, in order.
  const sub = lab.spawnDaemon('broker', 'reported-sub', ['mosquitto_sub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-i', 'reported-sub', '-q', '1', '-t', 'postern/shop-17/reported', '-F', '%p']);
  const reports = () => readFileSync(sub.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Reported);
  await waitUntil('subscribed', 5000, () => broker.log().includes('Sending SUBACK to reported-sub'));
  // Each awaited report is told apart by its revision or code (it may arrive before the console exits).
  const next = async (what: string, match: (r: Reported) => boolean, ms = 10_000): Promise<Reported> => {
    await waitUntil(what, ms, () => reports().some(match), () => `${JSON.stringify(reports())}\n${postern.log().split('\n').filter((l) => l.includes('fleet')).join('\n')}`);
    return reports().find(match)!;
  };
  const file = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const key = join(dir, 'operator', 'operator-private.pem');
  const brokerArgs = ['--broker', `mqtt://${BROKER}:1883`, '--username', 'console'];

  // 1. A whole document for this box, published and waited for by the console.
  const doc = { ...structuredClone(config), system: { ...config.system, hostname: 'shop17' } };
  const first = await consoleRun(['publish', '--key', key, '--serial', 'shop-17', '--revision', 'r1', '--document', file('r1.json', doc), ...brokerArgs, '--wait', '15']);
  t.equal(first.code, 0, `the console saw it applied: ${first.stdout} ${first.stderr}`);
  const r1 = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as Reported;
  t.match(r1, { applied: { revision: 'r1', confirmed: true }, last: { outcome: 'applied', revision: 'r1' } });
  t.ok(postern.log().includes('"author":"fleet"'), 'applied through applyConfig as the fleet');
  const replayed = await lab.exec('broker', ['mosquitto_sub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-t', 'postern/shop-17/desired', '-C', '1', '-W', '3']);
  const r1Envelope = replayed.stdout.trim();
  t.match(r1Envelope, /"signature"/, 'the r1 envelope, still retained, captured for a replay');

  // 2. A merge patch for the group, against r1.
  t.equal((await consoleRun(['publish', '--key', key, '--group', 'shops', '--revision', 'r2', '--base', 'r1', '--patch', file('r2.json', { system: { hostname: 'shop17-g' } }), ...brokerArgs])).code, 0);
  const r2 = await next('r2 applied', (r) => r.last.revision === 'r2');
  t.match(r2, { applied: { revision: 'r2', confirmed: true }, last: { outcome: 'applied' } }, 'the group patch applied');
  t.ok(r2.applied!.configRevision > r1.applied!.configRevision, 'a newer configuration revision');

  // 3. Refusals: r1 again, a key the box does not hold, a forged signature, an invalid document.
  const pub = (topic: string, message: string) => lab.exec('broker', ['mosquitto_pub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-q', '1', '-t', topic, '-m', message]);
  await pub('postern/shop-17/desired', r1Envelope);
  t.match(await next('replay refused', (r) => r.last.code === 'replay'), { last: { code: 'replay', revision: 'r1' }, applied: { revision: 'r2' } }, 'the replayed r1 refused; r2 still applied');
  const intruder = await consoleRun(['sign', '--key', join(dir, 'intruder', 'operator-private.pem'), '--serial', 'shop-17', '--revision', 'evil', '--document', file('evil.json', doc)]);
  await pub('postern/shop-17/desired', intruder.stdout.trim());
  t.match(await next('unknown key refused', (r) => r.last.code === 'unknown-key'), { last: { outcome: 'refused' } }, 'signed by a key the box does not hold');
  const forged = { ...(JSON.parse(intruder.stdout) as Record<string, string>), keyId: (JSON.parse(r1Envelope) as { keyId: string }).keyId };
  await pub('postern/shop-17/desired', JSON.stringify(forged));
  t.match(await next('forgery refused', (r) => r.last.code === 'bad-signature'), { last: { outcome: 'refused' } }, "another key's signature under the operator's key id");
  t.equal((await consoleRun(['publish', '--key', key, '--serial', 'shop-17', '--revision', 'r3', '--base', 'r2', '--patch', file('r3.json', { system: { lan: { address: '300.1.1.1/24' } } }), ...brokerArgs])).code, 0);
  const invalid = await next('invalid refused', (r) => r.last.revision === 'r3');
  t.match(invalid, { last: { outcome: 'refused', code: 'invalid' }, applied: { revision: 'r2' } });
  t.ok(invalid.last.errors?.some((e) => e.path === 'system.lan.address'), `refused at its field: ${JSON.stringify(invalid.last.errors)}`);

  // 4. A change that cuts the box off its broker (its MQTT password): safe mode takes it back.
  const cutAt = Date.now();
  t.equal((await consoleRun(['publish', '--key', key, '--serial', 'shop-17', '--revision', 'r4', '--base', 'r2', '--patch', file('r4.json', { telemetry: { mqtt: { password: 'Wrong-Password-26' } } }), ...brokerArgs])).code, 0);
  const reverted = await next('reverted by safe mode', (r) => r.last.revision === 'r4' && r.last.outcome === 'reverted', 25_000);
  const revertMs = Date.now() - cutAt;
  t.match(reverted, { last: { reason: /did not reach its broker/ }, applied: { revision: 'r2', confirmed: true } }, `reverted and reported ${revertMs} ms after the change`);
  t.ok(broker.log().includes('not authorised'), 'the broker refused the changed password meanwhile');
  t.ok(postern.log().includes('safe mode: change not confirmed, configuration reverted'), 'the box logged the revert');
  t.notOk(postern.log().includes(BOX_PASSWORD), 'no password in the log');
  t.comment(`wall ${Date.now() - started} ms`);
  await postern.stop();
});
