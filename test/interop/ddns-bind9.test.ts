// Issue 17: the gateway's RFC 2136 update (TSIG HMAC-SHA256) accepted by a real DNS server: BIND 9's
// named on loopback (an ephemeral port), with a key that may change only the gateway's name; dig
// reads the result. A wrong key is refused and the refusal named. Issue 26: the same named answers
// the fleet broker's SRV records; telemetry configured with discovery tries them in RFC 2782's
// order (TLS first, then by priority) and connects to the one a loopback mosquitto answers on.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { withPublicIdentity } from '../../firmware/config/public-identity.ts';
import { validateConfig } from '../../firmware/config/validate.ts';
import { sendRfc2136 } from '../../firmware/ddns/ddns-senders.ts';
import { discoverBroker } from '../../firmware/fleet/broker-discovery.ts';
import { TelemetrySubsystem } from '../../firmware/telemetry/telemetry-subsystem.ts';
import { mosquittoConf } from '../lab/peers/mosquitto.ts';
import { DdnsSubsystem } from '../../firmware/ddns/ddns-subsystem.ts';
import type { Logger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { hasBinary } from '../lab/command.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';

const NAMED = '/usr/sbin/named';
const skip = labSkip(!hasBinary('dig') || spawnSync(NAMED, ['-v']).status !== 0 ? 'BIND 9 is not installed (apt-get install bind9 bind9-dnsutils)' : !hasBinary('mosquitto') ? 'mosquitto is not installed' : false);
const SECRET = Buffer.from('postern-ddns-test-key-32-bytes!!');

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  }).on('error', reject);
});

t.test('named accepts the gateway\'s signed update of its public name; dig sees the new address', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'postern-named-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  // The fleet broker's SRV records: a TLS one and a first-priority plain one where nothing answers, then mosquitto.
  const [mqttPort, deadTls, deadPlain] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'example.com.zone'), [
    '$TTL 300',
    '@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300',
    '@ IN NS ns.example.com.',
    'ns IN A 192.0.2.53',
    'vpn IN A 192.0.2.1',
    `_secure-mqtt._tcp.fleet IN SRV 10 0 ${deadTls} localhost.`,
    `_mqtt._tcp.fleet IN SRV 20 5 ${mqttPort} localhost.`,
    `_mqtt._tcp.fleet IN SRV 10 5 ${deadPlain} localhost.`,
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'named.conf'), `
options {
  directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file none;
  recursion no;
  dnssec-validation no;
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
};
controls { };
key "postern-key" { algorithm hmac-sha256; secret "${SECRET.toString('base64')}"; };
zone "example.com" {
  type primary;
  file "${dir}/example.com.zone";
  update-policy { grant postern-key name vpn.example.com. A AAAA; };
};
`);
  const named = spawn(NAMED, ['-g', '-c', join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  named.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  t.teardown(() => {
    named.kill('SIGTERM');
  });
  const dig = (name: string) => spawnSync('dig', ['+short', '+norecurse', '+time=1', '+tries=1', '-p', String(port), '@127.0.0.1', name, 'A'], { encoding: 'utf8' }).stdout.trim();
  await waitUntil('named answers', 15_000, () => dig('vpn.example.com') === '192.0.2.1').catch((e: Error) => {
    throw new Error(`${e.message}\n${log}`);
  });
  const target = { server: '127.0.0.1', port, key: { name: 'postern-key', algorithm: 'hmac-sha256' as const, secret: new Secret(SECRET) } };
  const update = { zone: 'example.com', name: 'vpn.example.com', address: '203.0.113.5', ttl: 60 };
  t.equal(await sendRfc2136(target, update), undefined, 'applied, and the answer\'s TSIG verified');
  t.equal(dig('vpn.example.com'), '203.0.113.5', 'dig sees the new address');
  t.equal(await sendRfc2136(target, { ...update, address: '203.0.113.6' }), undefined);
  t.equal(dig('vpn.example.com'), '203.0.113.6', 'the old address replaced, not added to');
  const wrongKey = { ...target, key: { ...target.key, secret: new Secret(Buffer.from('not-the-right-key-not-the-right!')) } };
  t.match(await sendRfc2136(wrongKey, { ...update, address: '198.51.100.9' }), /NOTAUTH|BADSIG/, 'a wrong key is refused, and said so');
  t.equal(dig('vpn.example.com'), '203.0.113.6', 'and changes nothing');
  t.match(await sendRfc2136(target, { ...update, name: 'www.example.com' }), /REFUSED/, 'the key may change only the gateway\'s name');

  // The service's shell from the configuration: the WAN address changes, named follows.
  let wan = ['203.0.113.20'];
  const lines: string[] = [];
  const logger = { debug() {}, info: (msg: string, f?: object) => lines.push(`${msg} ${JSON.stringify(f)}`), warn: (msg: string, f?: object) => lines.push(`${msg} ${JSON.stringify(f)}`), error() {}, child: () => logger } as unknown as Logger;
  const ddns = new DdnsSubsystem({ logger, wanAddresses: () => wan, pollMs: 200 });
  const config = withPublicIdentity(defaultConfig(), { publicName: 'vpn.example.com' });
  config.system.dynamicDns = { enabled: true, method: 'rfc2136', server: '127.0.0.1', port, zone: 'example.com', keyName: 'postern-key', keySecret: SECRET.toString('base64'), ttl: 60 };
  t.same(validateConfig(config).ok ? [] : validateConfig(config), [], 'a valid configuration');
  await ddns.start(config);
  t.teardown(() => ddns.stop());
  await waitUntil('named has the WAN address', 10_000, () => dig('vpn.example.com') === '203.0.113.20');
  wan = ['203.0.113.21'];
  await waitUntil('named follows the new WAN address', 10_000, () => dig('vpn.example.com') === '203.0.113.21');
  await waitUntil('the second update counted', 5000, () => ddns.status().counters?.['ddns.updates'] === 2);
  t.match(ddns.status(), { state: 'running', detail: 'vpn.example.com → 203.0.113.21', counters: { 'ddns.updates': 2, 'ddns.failures': 0 } });
  t.notOk(lines.join('\n').includes(SECRET.toString('base64')), 'the key never in the log');

  // Issue 26: the fleet broker found by DNS SRV.
  const dns = [`127.0.0.1:${port}`];
  t.same(await discoverBroker({ domain: 'fleet.example.com', servers: dns }), { ok: true, urls: [`mqtts://localhost:${deadTls}`] }, 'TLS only unless unencrypted is allowed');
  t.match(await discoverBroker({ domain: 'nothing.example.com', plain: true, servers: dns }), { ok: false, why: /no broker under _secure-mqtt\._tcp\.nothing\.example\.com/ }, 'no records: nothing found, at once');
  execFileSync('mosquitto_passwd', ['-c', '-b', join(dir, 'passwd'), 'fleet', 'Fleet-Pass-26']);
  writeFileSync(join(dir, 'mosquitto.conf'), mosquittoConf(dir, { address: '127.0.0.1', port: mqttPort, users: {} }));
  const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  t.teardown(() => void broker.kill('SIGKILL'));
  const telemetry = new TelemetrySubsystem({ logger, discoveryServers: dns, statusSource: async () => ({ schema: 1 }) as never });
  const mqtt = { ...defaultConfig().telemetry.mqtt, enabled: true, username: 'fleet', password: 'Fleet-Pass-26', deviceId: 'srv-box', discovery: { domain: 'fleet.example.com', plain: true } };
  const withDiscovery = { ...defaultConfig(), telemetry: { mqtt } };
  t.same(validateConfig(withDiscovery).ok ? [] : validateConfig(withDiscovery), [], 'valid without a broker URL');
  const startedAt = Date.now();
  await telemetry.start(withDiscovery);
  t.teardown(() => telemetry.stop());
  await waitUntil('connected to the discovered broker', 15_000, () => telemetry.telemetry?.connected === true, () => lines.join('\n'));
  t.match(lines.find((l) => l.startsWith('telemetry starting')), '"broker":"found by DNS SRV under fleet.example.com"', 'the start says where the broker is looked for');
  const discovered = lines.find((l) => l.startsWith('telemetry broker discovered'));
  t.match(discovered, JSON.stringify({ brokers: [`mqtts://localhost:${deadTls}`, `mqtt://localhost:${deadPlain}`, `mqtt://localhost:${mqttPort}`] }), 'TLS first, then by priority');
  t.ok(lines.filter((l) => l.startsWith('telemetry broker unreachable')).length >= 2, 'the first two tried and found dead');
  t.match(lines.find((l) => l.startsWith('telemetry connected')), `"broker":"mqtt://localhost:${mqttPort}"`, `connected to the third ${Date.now() - startedAt} ms after the start`);
  t.match(telemetry.status(), { state: 'running', detail: 'connected to a broker found by DNS SRV under fleet.example.com' });
});
