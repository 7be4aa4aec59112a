// Issue 26: fleet configuration over MQTT against a real mosquitto and `postern run`. A fresh box
// (no configuration) whose board profile names the broker enrolls: it connects over TLS with the
// per-device certificate the "factory" wrote (mosquitto takes its CN as the user for the documented
// ACL) and announces itself retained. The operator's console (`postern fleet`, run in the
// broker's host as an operator would) signs and publishes; an independent mosquitto_sub records the
// box's retained reported state. Proven: a signed document applied (it changes the MQTT settings, so
// under safe mode, confirmed by the reconnect) and reported, a group patch on its named base, a
// replayed, a wrongly signed, a forged and an invalid one refused and reported (the invalid one at its
// field), a broker change that cuts the box off reverted by safe mode by itself and reported, a
// technician's change through the API reported as drift (kept by default), and with the operator's
// `onLocalChange: 'desired-wins'` such a change undone by the box itself and reported as reapplied,
// an MQTT 5 command request answered on its response topic with its correlation data, and a group
// template refused without its variable, then filled from the box's signed variables. Then a second
// mosquitto (the console's, in its own host) bridged to the box's over TLS with the topics
// docs/fleet.md lists: the retained announcement, a document applied and a refused one, across it. Last, a
// WAN change: under safe mode, confirmed by the connection the box forces after it.
// Token enrollment: a fresh box whose board profile holds only a one-time token (no certificate)
// exchanges it on the broker's password listener (the documented per-listener ACL) with the console's
// enroll-serve for a certificate from the enrollment CA, switches its telemetry to that certificate on
// the certificate listener (safe mode, confirmed by the connection) and announces itself; the same
// token used again (the captured request replayed, or for another serial) is refused and answered.
// Renewal: the same box started again with a certificate past 2/3 of its life asks enroll-serve on its
// certificate connection (the documented ACL's renew line), switches to the new certificate and key
// and reconnects with them; a box with a factory certificate near its end renews it the same way into
// one from the enrollment CA (enroll-serve given the factory's CA).
// Discovery: dnsmasq as the site's DHCP and DNS server, busybox udhcpc as the box's DHCP client (its script
// writes a networkd-style lease and the namespace's resolv.conf): a fresh box finds the broker in DHCP
// option 224, another by DNS SRV under the DHCP-given domain; each connects and announces itself.
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { rawPublicKey, signEnvelope, type DesiredPayload } from '../../firmware/fleet/envelope.ts';
import { encodeEnrollRequest } from '../../firmware/fleet/token-enrollment.ts';
import { buildCsr } from '../../firmware/pki/csr.ts';
import { issueClientCertificateForKey } from '../../firmware/pki/issue.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { cleanEnv } from '../helpers/env.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot, run } from '../lab/command.ts';
import { dhcpClient, namespaceResolvConf, startDhcpDns } from '../lab/peers/dhcp-dns.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const missing = ['mosquitto', 'mosquitto_sub', 'mosquitto_pub', 'mosquitto_passwd', 'openssl', 'curl'].filter((b) => !hasBinary(b));
const skip = labSkip(!isRoot() ? 'needs root (network namespaces)' : missing.length ? `not installed: ${missing.join(', ')}` : false);

const BROKER = '10.9.3.1';
const HQ = '10.9.4.1';
/** The broker's name where the lab's DHCP and DNS server (dnsmasq) names it. */
const BROKER_NAME = 'mqtt.fleet.lab';
const CONSOLE_PASSWORD = 'Console-Pass-26';
const ADMIN_PASSWORD = 'Shop-Keeper-Pass-26';
const pair: TopologySpec = {
  hosts: { broker: {}, gw: {}, hq: { routes: { '10.9.3.0/24': '10.9.4.2' } } },
  links: { net0: { a: ['broker', `${BROKER}/24`], b: ['gw', '10.9.3.2/24'] }, net1: { a: ['hq', `${HQ}/24`], b: ['broker', '10.9.4.2/24'] } },
};

// Two scenarios, each with its own broker and box: more than tap's default two minutes on a loaded machine.
t.setTimeout(420_000);

interface Reported {
  readonly applied?: { revision: string; configRevision: number; confirmed: boolean };
  readonly last: { outcome: string; code?: string; revision?: string; reason?: string; errors?: Array<{ path: string }> };
  readonly variables?: { sequence: number };
  readonly drift?: { configRevision: number; author: string; sections: string[] };
}

t.test('signed desired configuration: applied, refused, reverted by safe mode, each reported', { skip }, async (t) => {
  t.setTimeout(180_000); // about 90 s alone; a loaded machine (load 15 on 2 cores seen) takes longer
  const started = Date.now();
  const lab = Lab.create(pair);
  t.teardown(() => lab.teardown());
  // The ACL docs/fleet.md documents: each box its own topics and its groups' desired, the console all.
  const docs = readFileSync('docs/fleet.md', 'utf8');
  const acl = docs.match(/# every box\n[\s\S]*?(?=```)/)?.[0];
  t.ok(acl?.includes('user bridge'), 'the ACL from docs/fleet.md');
  // And the bridge's topics and directions it documents (on the console's broker: out is towards the boxes).
  const bridgeTopics = [...(docs.match(/connection fleet-edge\n[\s\S]*?(?=```)/)?.[0] ?? '').matchAll(/^topic (\S+) (in|out) ([01])$/gm)].map((m) => [m[1]!, m[2] as 'in' | 'out', Number(m[3]) as 0 | 1] as const);
  t.ok(bridgeTopics.length >= 8, 'the bridge topics from docs/fleet.md');
  const dir = lab.subdir('console');
  const consoleRun = (args: string[], timeoutMs = 20_000, host = 'broker') =>
    run(['ip', 'netns', 'exec', lab.ns(host), process.execPath, ...tsEntry('firmware/main.ts'), 'fleet', ...args], timeoutMs, cleanEnv({ POSTERN_FLEET_PASSWORD: CONSOLE_PASSWORD }));
  const [pki, keygen] = await Promise.all([labPki(lab.subdir('pki')), consoleRun(['keygen', join(dir, 'operator')])]);
  const broker = await Mosquitto.start(lab, 'broker', {
    address: BROKER, users: { console: CONSOLE_PASSWORD }, acl: acl!,
    tls: { port: 8883, cert: pki.brokerCert, key: pki.brokerKey, ca: pki.ca, clientCertificates: true },
  });
  t.equal(keygen.code, 0, keygen.stderr);
  const { operatorKey } = JSON.parse(keygen.stdout) as { operatorKey: string };

  // The factory's part: a board profile naming the broker and the operator's key, the serial, the device's certificate.
  const serialFile = join(pki.dir, 'serial');
  writeFileSync(serialFile, 'shop-17\0');
  const board = {
    ...(JSON.parse(readFileSync('board/generic-x64.json', 'utf8')) as Record<string, unknown>),
    name: 'lab-fleet', interfaces: [{ name: 'net0', role: 'wan', label: 'WAN' }, { name: 'lan0', role: 'lan', label: 'LAN' }], leds: [], watchdog: null,
    fleet: { broker: `mqtts://${BROKER}:8883`, operatorKeys: [operatorKey], groups: ['shops'], serialFile, certificate: pki.deviceCert, key: pki.deviceKey, ca: pki.ca },
  };
  const boardFile = join(pki.dir, 'lab-fleet.json');
  writeFileSync(boardFile, JSON.stringify(board));
  t.comment(`before-start ${Date.now() - started} ms`);
  const postern = await startPostern(lab, 'gw', undefined, (log) => log.includes('"msg":"telemetry connected"'), { args: ['--board', boardFile] });
  t.comment(`started ${Date.now() - started} ms`);
  const announced = await lab.exec('broker', ['mosquitto_sub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-t', 'postern/enroll/shop-17', '-C', '1', '-W', '5', '-F', '%r %p']);
  t.equal(announced.code, 0, announced.stderr);
  const [retainedFlag, ...announceText] = announced.stdout.trim().split(' ');
  t.equal(retainedFlag, '1', 'the announcement is retained');
  t.match(JSON.parse(announceText.join(' ')), { schema: 1, serial: 'shop-17', board: 'lab-fleet', mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, firmwareVersion: String, publicKey: /^[A-Za-z0-9+/]{43}=$/ }, 'the fresh box announced itself: serial, board, MAC, firmware version, public key');

  // The operator's first document: the box's whole configuration (its fleet settings with a 5-s confirmation).
  const config = defaultConfig();
  config.system.wan = { interface: 'net0', mode: 'dhcp' };
  config.system.management = { listen: '127.0.0.1', port: 18026, https: false };
  config.admin.passwordHash = hashPassword(ADMIN_PASSWORD);
  config.listeners.ikev2.enabled = false;
  config.listeners.sstp.enabled = false;
  config.telemetry.mqtt = {
    enabled: true, url: `mqtts://${BROKER}:8883`, clientCertificate: 'board-device', prefix: 'postern', deviceId: 'shop-17', intervalSeconds: 60, commandsEnabled: false,
    fleet: { enabled: true, operatorKeys: [operatorKey], groups: ['shops'], confirmSeconds: 5 },
  };

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
  t.match(r1, { applied: { revision: 'r1', confirmed: true }, last: { outcome: 'applied', revision: 'r1' } }, 'applied, and confirmed by the reconnect its new MQTT settings made');
  t.ok(postern.log().includes('fleet: change confirmed'), 'under safe mode until the broker was reached again');
  t.ok(postern.log().includes('"author":"fleet"'), 'applied through applyConfig as the fleet');
  const replayed = await lab.exec('broker', ['mosquitto_sub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-t', 'postern/shop-17/desired', '-C', '1', '-W', '3']);
  const r1Envelope = replayed.stdout.trim();
  t.match(r1Envelope, /"signature"/, 'the r1 envelope, still retained, captured for a replay');

  t.comment(`r1-done ${Date.now() - started} ms`);
  // 2. A merge patch for the group, against r1.
  t.equal((await consoleRun(['publish', '--key', key, '--group', 'shops', '--revision', 'r2', '--base', 'r1', '--patch', file('r2.json', { system: { hostname: 'shop17-g' } }), ...brokerArgs])).code, 0);
  const r2 = await next('r2 applied', (r) => r.last.revision === 'r2');
  t.match(r2, { applied: { revision: 'r2', confirmed: true }, last: { outcome: 'applied' } }, 'the group patch applied');
  t.ok(r2.applied!.configRevision > r1.applied!.configRevision, 'a newer configuration revision');

  t.comment(`r2-done ${Date.now() - started} ms`);
  // 3. Refusals: r1 again, a key the box does not hold, a forged signature, an invalid document.
  const pub = (topic: string, message: string) => lab.exec('broker', ['mosquitto_pub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-q', '1', '-t', topic, '-m', message]);
  await pub('postern/shop-17/desired', r1Envelope);
  t.match(await next('replay refused', (r) => r.last.code === 'replay'), { last: { code: 'replay', revision: 'r1' }, applied: { revision: 'r2' } }, 'the replayed r1 refused; r2 still applied');
  // The console's own steps are proven above; these are signed in the test (each console run costs a Node start).
  const desired = (p: Partial<DesiredPayload>, signer: KeyObject) => signEnvelope({ type: 'postern-desired', target: { serial: 'shop-17' }, sequence: Date.now(), issuedAt: Date.now(), expiresAt: Date.now() + 600_000, revision: 'evil', kind: 'document', document: doc, ...p } as DesiredPayload, signer);
  const intruder = { stdout: desired({}, generateKeyPairSync('ed25519').privateKey) };
  await pub('postern/shop-17/desired', intruder.stdout);
  t.match(await next('unknown key refused', (r) => r.last.code === 'unknown-key'), { last: { outcome: 'refused' } }, 'signed by a key the box does not hold');
  const forged = { ...(JSON.parse(intruder.stdout) as Record<string, string>), keyId: (JSON.parse(r1Envelope) as { keyId: string }).keyId };
  await pub('postern/shop-17/desired', JSON.stringify(forged));
  t.match(await next('forgery refused', (r) => r.last.code === 'bad-signature'), { last: { outcome: 'refused' } }, "another key's signature under the operator's key id");
  await pub('postern/shop-17/desired', desired({ revision: 'r3', kind: 'patch', base: 'r2', patch: { system: { lan: { address: '300.1.1.1/24' } } } } as Partial<DesiredPayload>, createPrivateKey(readFileSync(key, 'utf8'))));
  const invalid = await next('invalid refused', (r) => r.last.revision === 'r3');
  t.match(invalid, { last: { outcome: 'refused', code: 'invalid' }, applied: { revision: 'r2' } });
  t.ok(invalid.last.errors?.some((e) => e.path === 'system.lan.address'), `refused at its field: ${JSON.stringify(invalid.last.errors)}`);

  t.comment(`refusals-done ${Date.now() - started} ms`);
  // 4. A change that cuts the box off its broker (a port nothing listens on): safe mode takes it back.
  const cutAt = Date.now();
  t.equal((await consoleRun(['publish', '--key', key, '--serial', 'shop-17', '--revision', 'r4', '--base', 'r2', '--patch', file('r4.json', { telemetry: { mqtt: { url: `mqtts://${BROKER}:8884` } } }), ...brokerArgs])).code, 0);
  const reverted = await next('reverted by safe mode', (r) => r.last.revision === 'r4' && r.last.outcome === 'reverted', 25_000);
  const revertMs = Date.now() - cutAt;
  t.match(reverted, { last: { reason: /did not reach its broker/ }, applied: { revision: 'r2', confirmed: true } }, `reverted and reported ${revertMs} ms after the change`);
  t.ok(postern.log().includes(':8884'), 'the box tried the changed broker meanwhile');
  t.ok(postern.log().includes('safe mode: change not confirmed, configuration reverted'), 'the box logged the revert');
  t.comment(`revert-done ${Date.now() - started} ms`);

  // 5. Drift: a technician changes the hostname through the API; kept (the default) and reported.
  const api = apiOf(lab);
  const edit = async (hostname: string) => {
    const got = await api('GET', '/config');
    const { config: running } = JSON.parse(got) as { config: typeof doc };
    if (!running) throw new Error(`GET /config: ${got}`);
    const answer = JSON.parse(await api('PUT', '/config', { config: { ...running, system: { ...running.system, hostname } }, comment: 'by hand' })) as { revision?: number };
    t.ok(answer.revision, answer.revision ? 'the API took the change' : JSON.stringify(answer));
    return answer.revision!;
  };
  const byHand = await edit('by-hand');
  const drift = await next('drift reported', (r) => r.drift?.configRevision === byHand);
  t.match(drift, { applied: { revision: 'r2' }, drift: { author: 'admin', sections: ['system'] } }, 'the local change shows as drift in the retained reported state (sections, no values)');
  const retained = await lab.exec('broker', ['mosquitto_sub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-t', 'postern/shop-17/reported', '-C', '1', '-W', '3', '-F', '%r %p']);
  t.match(retained.stdout, /^1 .*"drift":\{"configRevision":\d+,"author":"admin","sections":\["system"\]\}/, 'retained, for a console that subscribes later');
  t.notOk(retained.stdout.includes('by-hand'), 'the value itself is not reported');

  // 6. The operator makes desired state win on this box (and sets a hostname); a new local change is undone by the box.
  const winsAt = Date.now();
  await pub('postern/shop-17/desired', desired({ revision: 'r5', kind: 'patch', base: 'r2', patch: { system: { hostname: 'shop17-r5' }, telemetry: { mqtt: { commandsEnabled: true, fleet: { onLocalChange: 'desired-wins' } } } } } as Partial<DesiredPayload>, createPrivateKey(readFileSync(key, 'utf8'))));
  t.match(await next('r5 applied', (r) => r.last.revision === 'r5' && r.last.outcome === 'applied', 15_000), { applied: { revision: 'r5', confirmed: true } }, 'desired-wins applied (an MQTT setting: confirmed by the reconnect)');
  t.equal((await next('r5 without drift', (r) => r.applied?.revision === 'r5' && r.drift === undefined)).drift, undefined, 'a new desired document ends the drift');
  // The console's watch sees the box's events as they come (the local change and its undoing are config-change events).
  const watching = lab.spawnDaemon('broker', 'fleet-watch', [process.execPath, ...tsEntry('firmware/main.ts'), 'fleet', 'watch', ...brokerArgs, '--for', '40'], cleanEnv({ POSTERN_FLEET_PASSWORD: CONSOLE_PASSWORD }));
  const watchLog = () => (existsSync(watching.logFile) ? readFileSync(watching.logFile, 'utf8') : '');
  const watched = () => watchLog().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { serial: string; type: string });
  await waitUntil('the watch subscribed', 15_000, () => watchLog().includes('watching'));
  const byHand2 = await edit('by-hand-2');
  const reapplied = await next('reapplied', (r) => r.last.outcome === 'reapplied');
  t.match(reapplied, { applied: { revision: 'r5' }, last: { revision: 'r5', reason: /local change by admin to system was undone/ } }, `the local change undone by the box itself ${Date.now() - winsAt} ms after r5`);
  t.equal(reapplied.drift, undefined);
  t.ok(reapplied.applied!.configRevision > byHand2, 'as a newer revision');
  const { config: after } = JSON.parse(await api('GET', '/config')) as { config: typeof doc };
  t.equal(after.system.hostname, 'shop17-r5', 'the desired configuration runs again');
  await waitUntil('the watch printed the config changes', 10_000, () => watched().filter((e) => e.type === 'config-change').length >= 2, watchLog);
  t.ok(watched().every((e) => e.serial === 'shop-17'), '`postern fleet watch` names the box of each event');
  watching.child.kill('SIGTERM');
  // The console's list: every box from the retained messages, with what it reported.
  const listed = await consoleRun(['list', ...brokerArgs, '--json', '--wait', '2']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ serial: 'shop-17', state: 'online', board: 'lab-fleet', firmwareVersion: String, applied: 'r5', confirmed: true, last: 'reapplied r5' }], `\`postern fleet list\`: ${listed.stdout}`);
  t.comment(`drift-done ${Date.now() - started} ms`);

  // MQTT 5 request/response (r5 turned commands on): the console's mqtt.js v5 request, answered on its
  // response topic (allowed by the documented ACL) with its correlation data (the console takes no other answer).
  const command = await consoleRun(['command', '--serial', 'shop-17', '--command', 'report-now', '--expiry', '20', ...brokerArgs, '--wait', '10']);
  t.equal(command.code, 0, command.code === 0 ? 'answered' : `${command.stdout} ${command.stderr}`);
  t.match(JSON.parse(command.stdout.trim() || '{}'), { responseTopic: /^postern\/shop-17\/reply\/postern-console-/, reply: { schema: 1, ok: true } }, 'report-now answered on the response topic with the correlation data');
  t.match(postern.log(), /"responseTopic":"postern\/shop-17\/reply\/[^"]+".*"msg":"telemetry command"/, 'the box logged where it answered');

  // 7. A group template: refused while the box lacks the variable (at its field), applied once the console publishes the box's variables.
  await pub('postern/group/shops/desired', desired({ target: { group: 'shops' }, revision: 'r6', kind: 'patch', base: 'r5', patch: { system: { hostname: '{{var.shopName}}-gw' } } } as Partial<DesiredPayload>, createPrivateKey(readFileSync(key, 'utf8'))));
  const lacking = await next('template refused', (r) => r.last.revision === 'r6');
  t.match(lacking, { last: { outcome: 'refused', code: 'variable-missing', errors: [{ path: 'system.hostname' }] }, applied: { revision: 'r5' } }, 'a missing variable refused at its field');
  const vars = await consoleRun(['variables', '--key', key, '--serial', 'shop-17', '--variables', file('vars.json', { shopName: 'shop17v' }), ...brokerArgs, '--wait', '15']);
  t.equal(vars.code, 0, vars.code === 0 ? 'the console saw the variables taken' : `${vars.stdout} ${vars.stderr}`);
  const templated = await next('template applied', (r) => r.last.revision === 'r6' && r.last.outcome === 'applied');
  t.match(templated, { applied: { revision: 'r6', variablesSequence: Number }, variables: { sequence: Number } }, 'the waiting group document filled and applied');
  const { config: filled } = JSON.parse(await api('GET', '/config')) as { config: typeof doc };
  t.equal(filled.system.hostname, 'shop17v-gw', 'with the box\'s own value');
  t.comment(`templates-done ${Date.now() - started} ms`);

  // 8. The console on its own broker, bridged to the box's (TLS, the bridge's certificate, the documented ACL and topics).
  const hq = await Mosquitto.start(lab, 'hq', {
    address: HQ, users: { console: CONSOLE_PASSWORD },
    bridge: { name: 'fleet-edge', address: `${BROKER}:8883`, topics: bridgeTopics, tls: { ca: pki.ca, cert: pki.bridgeCert, key: pki.bridgeKey } },
  });
  const hqSub = (topic: string, extra: string[]) => lab.exec('hq', ['mosquitto_sub', '-h', HQ, '-u', 'console', '-P', CONSOLE_PASSWORD, '-t', topic, ...extra], 15_000);
  // Until the bridge's subscription brought it over, a subscriber here may get it live (flag 0): asked again, it is retained here.
  let bridgedAnnouncement: { code: number | null; stdout: string; stderr: string } = { code: -1, stdout: '', stderr: '' };
  for (let i = 0; i < 10 && !bridgedAnnouncement.stdout.startsWith('1 '); i++) bridgedAnnouncement = await hqSub('postern/enroll/shop-17', ['-C', '1', '-W', '3', '-F', '%r %p']);
  t.match(bridgedAnnouncement.stdout, /^1 \{"schema":1,.*"serial":"shop-17"/, `the retained announcement reached the console's broker, still retained ${bridgedAnnouncement.stderr}${bridgedAnnouncement.code === 0 ? '' : hq.log()}`);
  t.match(broker.log(), /New client connected from 10\.9\.4\.1:\d+ as \S+ \(p5, c1, k\d+, u'bridge'\)/, 'the bridge logged in with its certificate (CN bridge), MQTT 5');
  const hqReports = lab.spawnDaemon('hq', 'hq-reported-sub', ['mosquitto_sub', '-h', HQ, '-u', 'console', '-P', CONSOLE_PASSWORD, '-i', 'hq-sub', '-q', '1', '-t', 'postern/shop-17/reported', '-F', '%p']);
  await waitUntil('subscribed at hq', 5000, () => hq.log().includes('Sending SUBACK to hq-sub'));
  const hqBrokerArgs = ['--broker', `mqtt://${HQ}:1883`, '--username', 'console'];
  const bridged = await consoleRun(['publish', '--key', key, '--serial', 'shop-17', '--revision', 'r7', '--base', 'r6', '--patch', file('r7.json', { system: { hostname: 'shop17-bridged' } }), ...hqBrokerArgs, '--wait', '15'], 20_000, 'hq');
  t.equal(bridged.code, 0, `the console on the other broker saw it applied: ${bridged.stdout} ${bridged.stderr}`);
  t.match(JSON.parse(bridged.stdout.trim().split('\n').at(-1) || '{}'), { applied: { revision: 'r7', confirmed: true }, last: { outcome: 'applied', revision: 'r7' } }, 'applied and reported across the bridge');
  t.equal((JSON.parse(await api('GET', '/config')) as { config: typeof doc }).config.system.hostname, 'shop17-bridged', 'the box runs it');
  await lab.exec('hq', ['mosquitto_pub', '-h', HQ, '-u', 'console', '-P', CONSOLE_PASSWORD, '-q', '1', '-t', 'postern/shop-17/desired', '-m', desired({ target: { serial: 'shop-99' }, revision: 'r8' }, createPrivateKey(readFileSync(key, 'utf8')))]);
  const hqReported = () => readFileSync(hqReports.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Reported);
  await waitUntil('refusal across the bridge', 10_000, () => hqReported().some((r) => r.last.revision === 'r8'), () => JSON.stringify(hqReported()));
  t.match(hqReported().find((r) => r.last.revision === 'r8'), { last: { outcome: 'refused', code: 'wrong-target' }, applied: { revision: 'r7' } }, 'a mistargeted document refused and reported across the bridge');

  // 9. A WAN change (static, on the same port): under safe mode, confirmed only by the new connection the
  // box forces through its WAN after it (Postern does not set the WAN's addresses itself, so no WAN
  // setting can cut it off the broker; phase 4's broker change proves the revert).
  await pub('postern/shop-17/desired', desired({ revision: 'r9', kind: 'patch', base: 'r7', patch: { system: { wan: { interface: 'net0', mode: 'static', address: '10.9.3.2/24', gateway: BROKER } } } } as Partial<DesiredPayload>, createPrivateKey(readFileSync(key, 'utf8'))));
  t.match(await next('r9 pending', (r) => r.last.revision === 'r9' && r.last.outcome === 'pending-confirmation'), { last: { safeMode: ['system.wan'] }, applied: { revision: 'r9', confirmed: false } }, 'the WAN change reported as waiting for the broker (sent before the box dials again)');
  t.match(await next('r9 confirmed', (r) => r.last.revision === 'r9' && r.last.outcome === 'applied', 15_000), { applied: { revision: 'r9', confirmed: true } }, 'applied, and confirmed');
  t.match(postern.log(), /"revision":"r9".*"safeMode":\["system\.wan"\].*"msg":"fleet: applying a desired configuration"/, 'under safe mode for the WAN');
  t.match(postern.log(), /"revision":"r9".*"msg":"fleet: change confirmed: the box reached its broker again"/, 'confirmed by the connection the box forced after it');
  t.match((JSON.parse(await api('GET', '/config')) as { config: typeof doc }).config.system.wan, { mode: 'static', address: '10.9.3.2/24' }, 'the box runs it');
  t.notOk(postern.log().includes('PRIVATE KEY'), 'no key in the log');
  t.comment(`wall ${Date.now() - started} ms`);
  await postern.stop();
});

t.test('a one-time token exchanged for a certificate: enrolled, switched to it, announced; the token refused a second time', { skip }, async (t) => {
  t.setTimeout(200_000); // 96 s measured with both renewals on a loaded 2-core machine (53 s before them)
  const started = Date.now();
  const lab = Lab.create({ hosts: { broker: {}, gw: {} }, links: { net0: { a: ['broker', `${BROKER}/24`], b: ['gw', '10.9.3.2/24'] } } });
  t.teardown(() => lab.teardown());
  const docs = readFileSync('docs/fleet.md', 'utf8');
  const acl = docs.match(/# every box\n[\s\S]*?(?=```)/)?.[0];
  const enrollAcl = docs.match(/# token holders[\s\S]*?(?=```)/)?.[0];
  t.ok(enrollAcl?.includes('pattern write postern/enroll/%u/request'), 'the enrollment listener\'s ACL from docs/fleet.md');
  const dir = lab.subdir('console');
  const enrollDir = join(dir, 'enroll');
  const consoleArgs = (args: string[]) => [process.execPath, ...tsEntry('firmware/main.ts'), 'fleet', ...args];
  const consoleRun = (args: string[]) => run(['ip', 'netns', 'exec', lab.ns('broker'), ...consoleArgs(args)], 20_000, cleanEnv({ POSTERN_FLEET_PASSWORD: CONSOLE_PASSWORD }));
  // The operator: a key pair, and a token for shop-18 (its enrollment CA made beside it); then one for shop-19.
  const [pki, keygen, made18] = await Promise.all([labPki(lab.subdir('pki')), consoleRun(['keygen', join(dir, 'operator')]), consoleRun(['enroll-token', '--serial', 'shop-18', '--days', '1', '--dir', enrollDir])]);
  t.equal(made18.code, 0, made18.stderr);
  t.equal((await consoleRun(['enroll-token', '--serial', 'shop-19', '--dir', enrollDir])).code, 0);
  const { token } = JSON.parse(made18.stdout.split('\n')[0]!) as { token: string };
  t.match(made18.stdout, new RegExp(`^mosquitto_passwd -b <password_file> shop-18 ${token}$`, 'm'), 'the mosquitto_passwd line for the enrollment listener');
  t.equal(statSync(join(enrollDir, 'enroll-tokens.json')).mode & 0o777, 0o600, 'the token store is 0600');
  const { operatorKey } = JSON.parse(keygen.stdout) as { operatorKey: string };
  const key = join(dir, 'operator', 'operator-private.pem');
  // Per-listener settings: token holders on the password listener (enroll only), boxes' certificates on TLS
  // (the enrollment CA's, and the factory's: docs/fleet.md's cafile beside it).
  const boxCas = join(dir, 'fleet-cas.pem');
  writeFileSync(boxCas, readFileSync(join(enrollDir, 'enroll-ca.pem'), 'utf8') + readFileSync(pki.ca, 'utf8'));
  const broker = await Mosquitto.start(lab, 'broker', {
    address: BROKER, users: { console: CONSOLE_PASSWORD, 'shop-18': token }, acl: acl!, passwordListenerAcl: enrollAcl!,
    tls: { port: 8883, cert: pki.brokerCert, key: pki.brokerKey, ca: boxCas, clientCertificates: true },
  });
  const brokerUser = (user: string, password: string) => ['-h', BROKER, '-u', user, '-P', password];
  const watch = lab.spawnDaemon('broker', 'enroll-sub', ['mosquitto_sub', ...brokerUser('console', CONSOLE_PASSWORD), '-i', 'enroll-sub', '-q', '1', '-t', 'postern/enroll/#', '-F', '%t %r %p']);
  const serve = lab.spawnDaemon('broker', 'enroll-serve', consoleArgs(['enroll-serve', '--key', key, '--dir', enrollDir, '--days', '30', '--factory-ca', pki.ca, '--broker', `mqtt://${BROKER}:1883`, '--username', 'console']), cleanEnv({ POSTERN_FLEET_PASSWORD: CONSOLE_PASSWORD }));
  const textOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const served = () => textOf(serve.logFile);
  const seen = () => textOf(watch.logFile).split('\n').filter(Boolean).map((l) => l.split(' ')).map(([topic, retained, ...p]) => ({ topic: topic!, retained: retained === '1', payload: p.join(' ') }));
  await waitUntil('enroll-serve and the watcher subscribed', 15_000, () => served().includes('"serving"') && broker.log().includes('Sending SUBACK to enroll-sub'), served);

  // The factory's part: only the serial, the operator's key, the broker's CA and the token.
  const serialFile = join(pki.dir, 'serial');
  writeFileSync(serialFile, 'shop-18\0');
  const tokenFile = join(pki.dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const board = {
    ...(JSON.parse(readFileSync('board/generic-x64.json', 'utf8')) as Record<string, unknown>),
    name: 'lab-fleet', interfaces: [{ name: 'net0', role: 'wan', label: 'WAN' }, { name: 'lan0', role: 'lan', label: 'LAN' }], leds: [], watchdog: null,
    fleet: { broker: `mqtts://${BROKER}:8883`, enrollmentBroker: `mqtt://${BROKER}:1883`, operatorKeys: [operatorKey], serialFile, ca: pki.ca, enrollmentTokenFile: tokenFile },
  };
  const boardFile = join(pki.dir, 'lab-fleet.json');
  writeFileSync(boardFile, JSON.stringify(board));
  t.comment(`before-start ${Date.now() - started} ms`);
  const postern = await startPostern(lab, 'gw', undefined, (log) => log.includes('"msg":"telemetry connected"'), { args: ['--board', boardFile] });
  t.comment(`enrolled and connected ${Date.now() - started} ms`);
  await waitUntil('the switch confirmed', 10_000, () => postern.log().includes('reached its broker with its enrolled certificate'), () => postern.log());
  t.match(served(), /"serial":"shop-18","outcome":"issued"/, 'the console issued the certificate');
  t.match(postern.log(), /fleet: enrolled: the console issued this box its certificate/);
  t.match(postern.log(), /safe mode: change confirmed/, 'the switch to the certificate went through safe mode, confirmed by the connection');
  const request = seen().find((m) => m.topic === 'postern/enroll/shop-18/request' && m.payload.startsWith('{'));
  t.match(request && JSON.parse(request.payload), { type: 'postern-enroll-request', serial: 'shop-18', proof: /^[0-9a-f]{64}$/ }, 'the request, as the box sent it');
  t.notOk(request?.payload.includes(token), 'the token is not in the request');
  t.notOk(postern.log().includes(token), 'nor in the box\'s log');
  const cert = new X509Certificate(readFileSync(join(postern.stateDir, 'fleet', 'device.pem')));
  t.equal(cert.subject, 'CN=shop-18');
  t.ok(cert.verify(new X509Certificate(readFileSync(join(enrollDir, 'enroll-ca.pem'))).publicKey), 'issued by the enrollment CA');
  t.equal(statSync(join(postern.stateDir, 'fleet', 'device.pem')).mode & 0o777, 0o600);
  t.equal(statSync(join(postern.stateDir, 'fleet', 'enroll-key.pem')).mode & 0o777, 0o600);
  // Announced through the certificate listener: the enrollment listener's ACL would not let it.
  const announced = await lab.exec('broker', ['mosquitto_sub', ...brokerUser('console', CONSOLE_PASSWORD), '-t', 'postern/enroll/shop-18', '-C', '1', '-W', '5', '-F', '%r %p']);
  t.match(announced.stdout, /^1 \{"schema":1,.*"serial":"shop-18"/, 'the enrolled box announced itself, retained');

  // The token a second time: the captured request replayed by a token holder, and shop-18's token for shop-19.
  const pubAs = (user: string, password: string, topic: string, message: string) => lab.exec('broker', ['mosquitto_pub', ...brokerUser(user, password), '-q', '1', '-t', topic, '-m', message]);
  await pubAs('shop-18', token, 'postern/enroll/shop-18/request', request!.payload);
  const csr19 = buildCsr('shop-19', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  await pubAs('console', CONSOLE_PASSWORD, 'postern/enroll/shop-19/request', encodeEnrollRequest('shop-19', csr19, token, Date.now()));
  await waitUntil('both refused', 10_000, () => served().includes('"code":"spent"') && served().includes('"code":"bad-proof"'), served);
  t.match(served(), /"serial":"shop-18","outcome":"refused","code":"spent","reason":"shop-18's token was already used at/, 'the replay refused and logged in words');
  t.match(served(), /"serial":"shop-19","outcome":"refused","code":"bad-proof"/, 'shop-18\'s token proves nothing for shop-19');
  const answers = () => seen().filter((m) => m.topic === 'postern/enroll/shop-18/certificate').map((m) => ({ retained: m.retained, answer: JSON.parse(Buffer.from((JSON.parse(m.payload) as { payload: string }).payload, 'base64url').toString()) as { outcome: string; code?: string } }));
  await waitUntil('the refusal answered', 5000, () => answers().some((a) => a.answer.code === 'spent'), () => JSON.stringify(answers()));
  t.match(answers().find((a) => a.answer.code === 'spent'), { retained: false, answer: { outcome: 'refused' } }, 'answered, signed and not retained, on the box\'s certificate topic');
  const still = await lab.exec('broker', ['mosquitto_sub', ...brokerUser('console', CONSOLE_PASSWORD), '-t', 'postern/enroll/shop-18/certificate', '-C', '1', '-W', '5', '-F', '%r %p']);
  t.match(still.stdout, /^1 \{"schema":1/, 'the retained answer is still the certificate');
  t.match(JSON.parse(Buffer.from((JSON.parse(still.stdout.slice(2)) as { payload: string }).payload, 'base64url').toString()), { outcome: 'issued', serial: 'shop-18' });
  // A token holder may write nothing but its own request.
  await pubAs('shop-18', token, 'postern/enroll/shop-19/request', '{}');
  await pubAs('shop-18', token, 'postern/shop-18/desired', '{}');
  await waitUntil('denied', 5000, () => /Denied PUBLISH from .*'postern\/shop-18\/desired'/.test(broker.log()), () => broker.log().slice(-2000));
  t.match(broker.log(), /Denied PUBLISH from .*'postern\/enroll\/shop-19\/request'/, 'the enrollment listener\'s ACL keeps a token holder to its own request');
  t.comment(`token-done ${Date.now() - started} ms`);

  // Renewal: the same box, its certificate now one near its end (as the enrollment CA issued it 20 h
  // ago for a day: due at 2/3 of its life, 4 h left). Started again, it asks enroll-serve on its
  // certificate connection (the documented ACL's renew line), switches to the new certificate for a
  // new key and reconnects with it.
  await postern.stop();
  const fleetDir = join(postern.stateDir, 'fleet');
  const oldKey = createPrivateKey(readFileSync(join(fleetDir, 'enroll-key.pem'), 'utf8'));
  const enrollCa = { certificatePem: readFileSync(join(enrollDir, 'enroll-ca.pem'), 'utf8'), keyPem: new Secret(readFileSync(join(enrollDir, 'enroll-ca-key.pem'), 'utf8')) };
  const nearEnd = issueClientCertificateForKey(enrollCa, { commonName: 'shop-18', validityDays: 1, now: new Date(Date.now() - 20 * 3_600_000), publicKey: createPublicKey(oldKey) });
  writeFileSync(join(fleetDir, 'device.pem'), nearEnd.certificatePem, { mode: 0o600 });
  const connectsBefore = broker.log().match(/New client connected from 10\.9\.3\.2:\d+ as \S+ \([^)]*u'shop-18'\)/g)?.length ?? 0;
  const renewAt = Date.now();
  const renewed = await startPostern(lab, 'gw', undefined, (log) => log.includes('the broker took the renewed certificate'), { name: 'postern-renew', stateDir: postern.stateDir, args: ['--board', boardFile] });
  t.comment(`renewed ${Date.now() - renewAt} ms after the start`);
  t.match(renewed.log(), /fleet: asking the console to renew this box's certificate/);
  t.match(served(), new RegExp(`"serial":"shop-18","renewal":true,"outcome":"issued"`), 'enroll-serve issued the renewal');
  const renewRequest = seen().find((m) => m.topic === 'postern/enroll/shop-18/renew' && m.payload.startsWith('{'));
  t.match(renewRequest && JSON.parse(renewRequest.payload), { type: 'postern-renew-request', serial: 'shop-18', certificate: String, signature: String }, 'the request went through the certificate listener');
  t.notMatch(broker.log(), /Denied PUBLISH from .*'postern\/enroll\/shop-18\/renew'/, 'the documented ACL lets a box write its renew topic');
  const now = new X509Certificate(readFileSync(join(fleetDir, 'device.pem')));
  t.not(now.serialNumber, new X509Certificate(nearEnd.certificatePem).serialNumber, 'a new certificate in use');
  t.equal(now.subject, 'CN=shop-18');
  t.ok(now.verify(new X509Certificate(enrollCa.certificatePem).publicKey), 'from the enrollment CA');
  t.ok(Date.parse(now.validTo) > Date.now() + 29 * 86_400_000, `for enroll-serve's 30 days (until ${now.validTo})`);
  t.notOk(now.publicKey.equals(createPublicKey(oldKey)), 'for a new key');
  t.ok(now.publicKey.equals(createPublicKey(createPrivateKey(readFileSync(join(fleetDir, 'enroll-key.pem'), 'utf8')))), 'the key the box uses now is the new one');
  t.notOk(existsSync(join(fleetDir, 'device-previous.pem')) || existsSync(join(fleetDir, 'enroll-key-previous.pem')), 'the previous certificate and key dropped once the broker took the new one');
  await waitUntil('the renew request cleared', 5000, () => seen().some((m) => m.topic === 'postern/enroll/shop-18/renew' && m.payload === ''), () => JSON.stringify(seen().map((m) => m.topic)));
  const connectsAfter = broker.log().match(/New client connected from 10\.9\.3\.2:\d+ as \S+ \([^)]*u'shop-18'\)/g)?.length ?? 0;
  t.ok(connectsAfter >= connectsBefore + 2, `the box connected with the old certificate, then again with the new (${connectsAfter - connectsBefore} connections)`);
  t.notOk(renewed.log().includes('PRIVATE KEY'), 'no key in the log');
  await renewed.stop();
  t.comment(`renewal-done ${Date.now() - started} ms`);

  // A factory-issued certificate renews the same way (enroll-serve given the factory's CA): a box with
  // only the factory's certificate for shop-20, near its end, takes one from the enrollment CA, keeps
  // it in its state directory and reconnects with it; the factory's files stay as they are.
  const factoryKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const factoryCa = { certificatePem: readFileSync(pki.ca, 'utf8'), keyPem: new Secret(readFileSync(join(pki.dir, 'ca.key'), 'utf8')) };
  const factoryCert = issueClientCertificateForKey(factoryCa, { commonName: 'shop-20', validityDays: 1, now: new Date(Date.now() - 20 * 3_600_000), publicKey: factoryKey.publicKey }).certificatePem;
  const [factoryCertFile, factoryKeyFile, serial20] = [join(pki.dir, 'shop-20.pem'), join(pki.dir, 'shop-20.key'), join(pki.dir, 'serial-20')];
  writeFileSync(factoryCertFile, factoryCert);
  writeFileSync(factoryKeyFile, factoryKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  writeFileSync(serial20, 'shop-20\0');
  const factoryBoard = join(lab.subdir('factory'), 'lab-fleet.json'); // a board file is named after its board
  writeFileSync(factoryBoard, JSON.stringify({ ...board, fleet: { broker: `mqtts://${BROKER}:8883`, operatorKeys: [operatorKey], serialFile: serial20, ca: pki.ca, certificate: factoryCertFile, key: factoryKeyFile } }));
  const factoryBox = await startPostern(lab, 'gw', undefined, (log) => log.includes('the broker took the renewed certificate'), { name: 'postern-factory', args: ['--board', factoryBoard] });
  t.match(served(), /"serial":"shop-20","renewal":true,"outcome":"issued"/, 'enroll-serve renewed the factory certificate');
  const enrolled20 = new X509Certificate(readFileSync(join(factoryBox.stateDir, 'fleet', 'device.pem')));
  t.equal(enrolled20.subject, 'CN=shop-20');
  t.ok(enrolled20.verify(new X509Certificate(enrollCa.certificatePem).publicKey), 'the box holds a certificate from the enrollment CA now, renewed from here on like an enrolled one');
  t.equal(readFileSync(factoryCertFile, 'utf8'), factoryCert, 'the factory\'s certificate untouched (a factory reset goes back to it)');
  t.match(broker.log(), /New client connected from 10\.9\.3\.2:\d+ as \S+ \([^)]*u'shop-20'\)[\s\S]*New client connected from 10\.9\.3\.2:\d+ as \S+ \([^)]*u'shop-20'\)/, 'connected with the factory certificate, then with the new one');
  t.comment(`wall ${Date.now() - started} ms`);
  await factoryBox.stop();
});

t.test('a fresh box finds its broker by the DHCP option, another by DNS SRV under the DHCP-given domain; each enrolls', { skip: skip || labSkip(!hasBinary('dnsmasq') ? 'not installed: dnsmasq (dnsmasq-base)' : !hasBinary('busybox') ? 'not installed: busybox' : false) }, async (t) => {
  t.setTimeout(150_000);
  const started = Date.now();
  const lab = Lab.create({ hosts: { broker: {}, gw: {} }, links: { net0: { a: ['broker', `${BROKER}/24`], b: ['gw', '10.9.3.2/24'] } } });
  t.teardown(() => lab.teardown());
  const resolv = namespaceResolvConf(lab, 'gw');
  t.teardown(resolv.remove);
  const docs = readFileSync('docs/fleet.md', 'utf8');
  const acl = docs.match(/# every box\n[\s\S]*?(?=```)/)?.[0];
  const pki = await labPki(lab.subdir('pki'));
  const operatorKey = rawPublicKey(createPublicKey(generateKeyPairSync('ed25519').privateKey)).toString('base64');
  // The site: dnsmasq hands out addresses with the domain, itself as DNS server and the broker in option 224,
  // and answers the broker's name and its SRV record; mosquitto as in the other scenarios (TLS, the documented ACL).
  const [site, broker] = await Promise.all([
    startDhcpDns(lab, 'broker', {
      address: BROKER, interface: 'net0', range: ['10.9.3.100', '10.9.3.150'], domain: 'fleet.lab',
      textOptions: { 224: `mqtts://${BROKER_NAME}:8883` }, hosts: { [BROKER_NAME]: BROKER },
      srv: [{ name: '_secure-mqtt._tcp.fleet.lab', target: BROKER_NAME, port: 8883, priority: 10, weight: 0 }],
    }),
    Mosquitto.start(lab, 'broker', { address: BROKER, users: { console: CONSOLE_PASSWORD }, acl: acl!, tls: { port: 8883, cert: pki.brokerCert, key: pki.brokerKey, ca: pki.ca, clientCertificates: true } }),
  ]);
  // The box's WAN by DHCP: its address, a lease file as networkd writes one, and its namespace's resolv.conf.
  await lab.exec('gw', ['ip', '-4', 'addr', 'flush', 'dev', 'net0']);
  const leaseFile = join(lab.subdir('lease'), 'net0.lease');
  const dhcp = await dhcpClient(lab, 'gw', 'net0', { option: 224, leaseFile, resolvConf: resolv.path });
  t.equal(dhcp.code, 0, `udhcpc bound: ${dhcp.stderr}`);
  const lease = readFileSync(leaseFile, 'utf8');
  t.match(lease, /^OPTION_224=([0-9a-f]{2})+$/m, 'the lease holds option 224, as hex');
  t.equal(Buffer.from(/^OPTION_224=(\S+)$/m.exec(lease)?.[1] ?? '', 'hex').toString(), `mqtts://${BROKER_NAME}:8883`, 'the broker\'s URL as the server sent it');
  t.match(readFileSync(resolv.path, 'utf8'), new RegExp(`^search fleet\\.lab\nnameserver ${BROKER.replace(/\./g, '\\.')}$`, 'm'), 'the DHCP-given domain and DNS server');
  t.match((await lab.exec('gw', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'net0'])).stdout, /inet 10\.9\.3\.1\d\d\/24/, 'the WAN address from the pool');
  t.comment(`dhcp-done ${Date.now() - started} ms`);

  // A box made to find its broker through the DHCP client's lease (option 224), with its factory certificate.
  const serialFile = join(pki.dir, 'serial');
  writeFileSync(serialFile, 'shop-17\0');
  const base = {
    ...(JSON.parse(readFileSync('board/generic-x64.json', 'utf8')) as Record<string, unknown>),
    name: 'lab-fleet', interfaces: [{ name: 'net0', role: 'wan', label: 'WAN' }, { name: 'lan0', role: 'lan', label: 'LAN' }], leds: [], watchdog: null,
  };
  const boardFile = (fleet: Record<string, unknown>) => {
    const path = join(lab.subdir('board'), 'lab-fleet.json');
    writeFileSync(path, JSON.stringify({ ...base, fleet: { operatorKeys: [operatorKey], ca: pki.ca, ...fleet } }));
    return path;
  };
  const announcement = async (serial: string) => (await lab.exec('broker', ['mosquitto_sub', '-h', BROKER, '-u', 'console', '-P', CONSOLE_PASSWORD, '-t', `postern/enroll/${serial}`, '-C', '1', '-W', '5', '-F', '%r %p'])).stdout;
  const byDhcp = await startPostern(lab, 'gw', undefined, (log) => log.includes('"msg":"telemetry connected"'), { name: 'postern-dhcp', args: ['--board', boardFile({ dhcpLeaseFile: leaseFile, dhcpLeaseFormat: 'networkd', serialFile, certificate: pki.deviceCert, key: pki.deviceKey })] });
  t.comment(`dhcp-box connected ${Date.now() - started} ms`);
  t.match(byDhcp.log(), new RegExp(`"broker":"found in DHCP option 224 \\(${leaseFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)".*"msg":"telemetry starting"`), 'the start says the broker comes from the DHCP option');
  t.match(byDhcp.log(), `"broker":"mqtts://${BROKER_NAME}:8883"`, 'connected to the broker the DHCP server named (TLS, checked against its name)');
  t.match(site.log(), new RegExp(`query\\[A\\] ${BROKER_NAME.replace(/\./g, '\\.')} from 10\\.9\\.3\\.1\\d\\d`), 'its name resolved through the DHCP-given DNS server');
  t.match(await announcement('shop-17'), /^1 \{"schema":1,.*"serial":"shop-17"/, 'and announced itself, retained');
  await byDhcp.stop();

  // Another box whose board names no broker and no lease: the SRV record under the domain the DHCP server gave.
  const serial21 = join(pki.dir, 'serial-21');
  writeFileSync(serial21, 'shop-21\0');
  const key21 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const [cert21, keyFile21] = [join(pki.dir, 'shop-21.pem'), join(pki.dir, 'shop-21.key')];
  writeFileSync(cert21, issueClientCertificateForKey({ certificatePem: readFileSync(pki.ca, 'utf8'), keyPem: new Secret(readFileSync(join(pki.dir, 'ca.key'), 'utf8')) }, { commonName: 'shop-21', validityDays: 2, now: new Date(), publicKey: key21.publicKey }).certificatePem);
  writeFileSync(keyFile21, key21.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const bySrv = await startPostern(lab, 'gw', undefined, (log) => log.includes('"msg":"telemetry connected"'), { name: 'postern-srv', args: ['--board', boardFile({ discoveryDomain: 'dhcp', serialFile: serial21, certificate: cert21, key: keyFile21 })] });
  t.comment(`srv-box connected ${Date.now() - started} ms`);
  t.match(bySrv.log(), /"broker":"found by DNS SRV under the DHCP-given domain".*"msg":"telemetry starting"/, 'the start says the broker is looked up by DNS SRV');
  t.match(bySrv.log(), new RegExp(`"brokers":\\["mqtts://${BROKER_NAME}:8883"\\].*"msg":"telemetry broker discovered"`), 'the SRV target found');
  t.match(site.log(), /query\[SRV\] _secure-mqtt\._tcp\.fleet\.lab from 10\.9\.3\.1\d\d/, 'asked under the DHCP-given domain');
  t.match(await announcement('shop-21'), /^1 \{"schema":1,.*"serial":"shop-21"/, 'and it announced itself, retained');
  t.match(broker.log(), /New client connected from 10\.9\.3\.1\d\d:\d+ as \S+ \([^)]*u'shop-21'\)/, 'with its certificate (CN shop-21) under the documented ACL');
  t.comment(`wall ${Date.now() - started} ms`);
  await bySrv.stop();
});

/** The box's management API in its namespace through curl: first-boot setup and login once, then requests with the session. */
function apiOf(lab: Lab) {
  const base = 'http://127.0.0.1:18026/api/v1';
  let session: { cookie: string; csrf: string } | undefined;
  const curl = async (method: string, path: string, body: unknown, headers: string[] = [], include = false) => {
    const r = await lab.exec('gw', ['curl', '-s', '--max-time', '20', ...(include ? ['-i'] : []), '-X', method, '-H', 'content-type: application/json', ...headers.flatMap((h) => ['-H', h]), ...(body === undefined ? [] : ['--data', JSON.stringify(body)]), `${base}${path}`], 25_000);
    return r.stdout;
  };
  return async (method: string, path: string, body?: unknown): Promise<string> => {
    if (!session) {
      const setup = await curl('POST', '/setup', { password: ADMIN_PASSWORD });
      if (!setup.includes('"ok":true')) throw new Error(`setup: ${setup}`);
      const login = await curl('POST', '/login', { password: ADMIN_PASSWORD }, [], true);
      session = { cookie: /^set-cookie: ([^;\r\n]+)/im.exec(login)?.[1] ?? '', csrf: /"csrfToken":"([^"]+)"/.exec(login)?.[1] ?? '' };
    }
    return curl(method, path, body, [`cookie: ${session.cookie}`, `x-csrf-token: ${session.csrf}`]);
  };
}

/** A CA, the broker's certificate (its IP as SAN) and the device's (CN = its serial), EC P-256, by openssl. */
async function labPki(dir: string) {
  const at = (name: string) => join(dir, name);
  const ok = async (argv: string[]) => {
    const r = await run(argv, 20_000);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await ok(['openssl', 'req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=lab fleet CA']);
  for (const [name, cn, ext] of [['broker', 'broker', `subjectAltName=IP:${BROKER},DNS:${BROKER_NAME}\nextendedKeyUsage=serverAuth\n`], ['device', 'shop-17', 'extendedKeyUsage=clientAuth\n'], ['bridge', 'bridge', 'extendedKeyUsage=clientAuth\n']] as const) {
    writeFileSync(at(`${name}.ext`), ext);
    await ok(['openssl', 'req', ...ec, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await ok(['openssl', 'x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at(`${name}.pem`), '-days', '2', '-extfile', at(`${name}.ext`)]);
  }
  return { dir, ca: at('ca.pem'), brokerCert: at('broker.pem'), brokerKey: at('broker.key'), deviceCert: at('device.pem'), deviceKey: at('device.key'), bridgeCert: at('bridge.pem'), bridgeKey: at('bridge.key') };
}
