// Issue 26: the fleet broker from a site-specific DHCP option (224 by default) in the DHCP client's
// lease: dhclient (hex bytes or a quoted string, the newest lease) and systemd-networkd (OPTION_224=),
// the URL checked; fuzzed: the parsers never throw, and any accepted URL is mqtts://host[:port].
import fc from 'fast-check';
import t from 'tap';
import { brokerFromLease, brokerFromOption, dhclientOption, networkdOption } from '../../../firmware/fleet/dhcp-broker-option.ts';

const hex = (s: string, sep = ':') => [...Buffer.from(s)].map((b) => b.toString(16).padStart(2, '0')).join(sep);
const dhclient = (value: string, older = 'mqtts://old.example.net') => `lease {
  interface "eth0";
  fixed-address 192.0.2.10;
  option unknown-224 "${older}";
  renew 4 2026/12/03 10:00:00;
}
lease {
  interface "eth0";
  fixed-address 192.0.2.10;
  option subnet-mask 255.255.255.0;
  option unknown-224 ${value};
  option domain-name "shop.example";
  renew 6 2026/12/05 10:00:00;
}
`;

t.test('dhclient: the newest lease, hex bytes or a quoted string', async (t) => {
  t.same(brokerFromLease(dhclient(hex('mqtts://fleet.example.com:8883')), 'dhclient'), { ok: true, url: 'mqtts://fleet.example.com:8883' }, 'hex, as dhclient writes an unknown option');
  t.same(brokerFromLease(dhclient('"mqtts://Fleet.Example.com"'), 'dhclient'), { ok: true, url: 'mqtts://fleet.example.com' }, 'a quoted string; the host lower-cased');
  t.same(brokerFromLease(dhclient('"mqtts://fleet.example.com\\0728883"'), 'dhclient'), { ok: true, url: 'mqtts://fleet.example.com:8883' }, 'octal escapes');
  t.same(dhclientOption(dhclient(hex('x')).replace(/unknown-224/g, 'fleet-broker'), 224, ['fleet-broker']).ok, true, 'a name the site gave it in dhclient.conf');
  t.match(brokerFromLease(dhclient(hex('x')).replace(/unknown-224/g, 'unknown-225'), 'dhclient'), { ok: false, why: /no option 224/ });
  t.match(brokerFromLease('', 'dhclient'), { ok: false, why: /no lease/ });
  t.match(brokerFromLease(dhclient(hex('x')), 'dhclient', 43), { ok: false, why: /not a site-specific option/ }, 'only 224-254');
});

t.test('systemd-networkd: OPTION_224=hex', async (t) => {
  const lease = `# This is private data. Do not parse.\nADDRESS=192.0.2.10\nOPTION_224=${hex('mqtts://10.0.0.5:8883', '')}\nOPTION_230=00\n`;
  t.same(brokerFromLease(lease, 'networkd'), { ok: true, url: 'mqtts://10.0.0.5:8883' });
  t.match(networkdOption('OPTION_224=zz\n', 224), { ok: false, why: /not hex/ });
  t.match(brokerFromLease('ADDRESS=1.2.3.4\n', 'networkd'), { ok: false, why: /no option 224/ });
});

t.test('the URL: mqtts://host[:port] only; mqtt:// only where allowed', async (t) => {
  const url = (s: string, plain = false) => brokerFromOption(Buffer.from(s), plain);
  t.same(url('mqtts://b.example\0'), { ok: true, url: 'mqtts://b.example' }, 'a C string\'s NUL dropped');
  t.match(url('mqtt://b.example'), { ok: false, why: /unencrypted/ });
  t.same(url('mqtt://b.example:1883', true), { ok: true, url: 'mqtt://b.example:1883' });
  for (const bad of ['https://b.example', 'mqtts://user:pw@b.example', 'mqtts://b.example/path', 'mqtts://b.example:0', 'mqtts://b.example:70000', 'mqtts://-b.example', 'mqtts://a..b', 'mqtts://', '']) {
    t.equal(url(bad).ok, false, `refused: ${JSON.stringify(bad)}`);
  }
});

t.test('fuzz: never throws; an accepted broker is always mqtts://host[:port]', async (t) => {
  let runs = 0;
  const shape = /^mqtts:\/\/[a-z0-9.-]+(:\d{1,5})?$/;
  fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (text, bytes) => {
    runs++;
    const results = [brokerFromLease(text, 'dhclient'), brokerFromLease(text, 'networkd'), brokerFromLease(dhclient(text), 'dhclient'), brokerFromOption(Buffer.from(bytes)), brokerFromLease(dhclient(hex(Buffer.from(bytes).toString('latin1'))), 'dhclient')];
    return results.every((r) => !r.ok || shape.test(r.url));
  }), { numRuns: 500 });
  // Any host and port written by a DHCP server comes back the same through either lease format.
  fc.assert(fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), (host, port) => {
    runs++;
    const u = `mqtts://${host}:${port}`;
    const a = brokerFromLease(dhclient(hex(u)), 'dhclient');
    const b = brokerFromLease(`OPTION_224=${hex(u, '')}\n`, 'networkd');
    return a.ok && b.ok && a.url === u.toLowerCase() && b.url === a.url;
  }), { numRuns: 300 });
  t.equal(runs, 800, 'every generated case ran');
});

t.test('wired: a board naming a lease file gets discovery by the option; the telemetry asks it before DNS SRV', async (t) => {
  const { discoverBroker, describeDiscovery } = await import('../../../firmware/fleet/broker-discovery.ts');
  const { presetFleet } = await import('../../../firmware/fleet/enrollment.ts');
  const { defaultConfig } = await import('../../../firmware/config/defaults.ts');
  const { validateConfig } = await import('../../../firmware/config/validate.ts');
  const fleet = { operatorKeys: ['bNcSLC+HL8ZQjYmmh4Us5P0qmRTCGaoFOH4rhbYDa3s='], certificate: '/c.pem', key: '/k.pem', dhcpLeaseFile: '/var/lib/dhcp/dhclient.leases', dhcpLeaseFormat: 'dhclient' as const };
  const config = presetFleet(defaultConfig(), fleet, 'SN-1');
  t.same(config.telemetry.mqtt.discovery, { dhcpLease: { file: '/var/lib/dhcp/dhclient.leases', format: 'dhclient' } });
  const valid = validateConfig(config);
  t.ok(valid.ok, `the first configuration is valid: ${JSON.stringify(valid.ok ? [] : valid.errors)}`);
  const neither = validateConfig({ ...config, telemetry: { mqtt: { ...config.telemetry.mqtt, discovery: {} } } });
  t.notOk(neither.ok, 'discovery by nothing is refused');
  t.equal(describeDiscovery(config.telemetry.mqtt.discovery!), 'in DHCP option 224 (/var/lib/dhcp/dhclient.leases)');
  t.equal(describeDiscovery({ dhcpLease: { file: '/run/lease', option: 230 }, domain: 'dhcp' }), 'in DHCP option 230 (/run/lease), then by DNS SRV under the DHCP-given domain', 'both, in the order they are asked');
  t.equal(describeDiscovery({ domain: 'fleet.example.net' }), 'by DNS SRV under fleet.example.net');
  const { validateBoard } = await import('../../../firmware/board/validate.ts');
  const { readFileSync } = await import('node:fs');
  const board = JSON.parse(readFileSync('board/generic-x64.json', 'utf8')) as Record<string, unknown>;
  t.ok(validateBoard({ ...board, fleet: { ...fleet, dhcpOption: 230, dhcpLeaseFormat: 'networkd' } }).ok, 'the board schema takes the lease file, its format and the option');
  t.notOk(validateBoard({ ...board, fleet: { ...fleet, dhcpOption: 43 } }).ok, 'only a site-specific option');

  const lease = dhclient(hex('mqtts://fleet.example.com:8883'));
  t.same(await discoverBroker({ dhcpLease: { file: 'f', format: 'dhclient' }, readLease: () => lease }), { ok: true, urls: ['mqtts://fleet.example.com:8883'] }, 'the option\'s broker');
  t.match(await discoverBroker({ dhcpLease: { file: 'f', format: 'dhclient' }, readLease: () => 'lease { }' }), { ok: false, why: /f: the newest lease has no option 224/ });
  t.match(await discoverBroker({ dhcpLease: { file: 'f', format: 'dhclient' }, readLease: () => { throw new Error('ENOENT'); } }), { ok: false }, 'no lease file yet: nothing found, asked again next round');
});
